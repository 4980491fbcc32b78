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
    pub flow: FlowView,
    pub events: Vec<SecurityEvent>,
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

/// What kind of device a session runs on (for its icon).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceKind {
    Desktop,
    Phone,
    Tablet,
    Bot,
    Other,
}

/// One signed-in device on the devices page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    /// The session this page was loaded with.
    pub current: bool,
    /// The person's own name for it, else "Browser on OS".
    pub label: String,
    pub custom_name: Option<String>,
    pub browser: String,
    pub os: String,
    pub kind: DeviceKind,
    pub ip: String,
    pub signed_in_at: String,
    pub signed_in_ago: String,
    pub last_active_at: String,
    pub last_active_ago: String,
}

/// The devices page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicesView {
    pub display_name: String,
    pub devices: Vec<Device>,
}

/// One line of the security activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvent {
    pub id: String,
    pub kind: String,
    /// The event in plain words.
    pub text: String,
    pub at: String,
    pub ago: String,
    pub session_id: Option<String>,
    /// A sign-in on another device that is still signed in: offer "This wasn't me".
    pub can_disown: bool,
}

/// The seed's flow for this very session: the access token's claims and the rotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowView {
    /// Header and claims of the access token this page was loaded with, decoded on the server.
    pub claims: Vec<(String, String)>,
    pub issued_at: String,
    pub rotations: i64,
    pub last_rotated_at: Option<String>,
    pub last_rotated_ago: Option<String>,
}
