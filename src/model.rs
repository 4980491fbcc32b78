//! Wire types shared by the server and the browser.

use serde::{Deserialize, Serialize};

/// A person's public profile, as the API and the pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// What the dashboard shows about the person and this very session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub user: User,
    pub session_id: String,
    /// When this session signed in (RFC 3339, UTC).
    pub signed_in_at: String,
    /// When the access token this request carried expires (RFC 3339, UTC).
    pub access_expires_at: String,
    /// Unix seconds of the same instant, for the countdown.
    pub access_expires_unix: i64,
    /// How many times this session's refresh token has been rotated.
    pub rotations: i64,
    /// The server's clock when it answered (unix seconds), where the countdown starts.
    pub server_now_unix: i64,
}

/// The answer to "is my session still good?" from a hydrated page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStatus {
    pub session_id: String,
    pub access_expires_at: String,
    pub access_expires_unix: i64,
    /// Unix seconds when the server answered.
    pub checked_at_unix: i64,
}
