//! Wire types shared by the server and the browser.

use serde::{Deserialize, Serialize};

/// A person's public profile, as the API and the pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Whether the address was proven by following a link sent to it.
    pub email_verified: bool,
}

impl User {
    /// The address, while it is not verified: what the frame's notice names.
    pub fn unverified_email(&self) -> Option<String> {
        (!self.email_verified).then(|| self.email.clone())
    }
}

/// The sign-in a "This wasn't me" link is about, as its page shows it before anything is
/// done (`/not-me?token=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedSignIn {
    /// "Safari on iOS", as the browser described itself.
    pub device: String,
    /// The client address, or empty.
    pub ip: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// "2026-11-29 09:04 UTC".
    pub when: String,
    /// False when that session has ended already (the button still forgets the device and
    /// mails a reset link).
    pub still_signed_in: bool,
}

/// What the dashboard shows about the person and this very session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub user: User,
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
    /// This session's timeline: when it signed in, and its latest refresh-token rotations
    /// (oldest first; `rotations` may count more than are listed).
    pub signed_in: Moment,
    pub rotated: Vec<Moment>,
}

/// An instant, both ways: unix seconds for arithmetic, RFC 3339 (UTC) for people and `<time>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    pub unix: i64,
    pub at: String,
}

/// The answer to "is my session still good?" from a hydrated page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStatus {
    pub access_expires_at: String,
    pub access_expires_unix: i64,
    /// How many times this session's refresh token has been rotated, and when it last was:
    /// a transparent refresh shows up here as one more.
    pub rotations: i64,
    pub last_rotated: Option<Moment>,
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
    /// How it signed in: "password", "password and authentication code", …
    pub signed_in_with: String,
}

/// The devices page: one page of the devices, "This device" first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicesView {
    pub display_name: String,
    /// The account's address while it is not verified (the frame's notice).
    pub unverified_email: Option<String>,
    pub devices: Vec<Device>,
    /// Where the next page starts (`?cursor=`); None on the last page.
    pub next_cursor: Option<String>,
    /// Every live session of the account, on this page or not.
    pub total: i64,
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

/// Password strength, estimated the same way in the browser (the meter) and on the server
/// (the minimum a new password must reach), with zxcvbn.
pub mod strength {
    /// The lowest acceptable zxcvbn score (0–4): 2 means "about 10^8 guesses or more".
    pub const MIN_SCORE: u8 = 2;
    /// Only this many leading characters are scored: zxcvbn's cost grows fast with length,
    /// and anything longer that starts strong is strong.
    pub const SCORED_CHARS: usize = 64;

    /// What the meter shows and what the server's check decides on. The estimate itself runs
    /// on the server only (zxcvbn's dictionaries would triple the page's WebAssembly); the
    /// meter asks for it through `api::strength::password_strength`.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    pub struct Strength {
        /// 0 (guessable in a blink) to 4 (very hard to guess).
        pub score: u8,
        /// Short advice when the password could be better.
        pub advice: Option<String>,
    }

    impl Strength {
        pub fn acceptable(&self) -> bool {
            self.score >= MIN_SCORE
        }

        pub fn label(&self) -> &'static str {
            match self.score {
                0 => "Very weak",
                1 => "Weak",
                2 => "Fair",
                3 => "Strong",
                _ => "Very strong",
            }
        }
    }

    #[cfg(feature = "ssr")]
    pub fn estimate(password: &str) -> Strength {
        let head: String = password.chars().take(SCORED_CHARS).collect();
        let entropy = zxcvbn::zxcvbn(&head, &[]);
        let score = u8::from(entropy.score());
        let advice = entropy.feedback().and_then(|f| {
            f.warning()
                .map(|w| w.to_string())
                .or_else(|| f.suggestions().first().map(|s| s.to_string()))
        });
        Strength { score, advice }
    }

    #[cfg(all(test, feature = "ssr"))]
    mod tests {
        use super::*;

        #[test]
        fn passphrases_pass_and_common_or_repetitive_passwords_do_not() {
            for good in ["correct horse battery staple", "a brand new passphrase", "a brand new passphrase 2"] {
                assert!(estimate(good).acceptable(), "{good}: {:?}", estimate(good));
            }
            for bad in ["password123", "qwertyuiop", "aaaaaaaaaaaa", "1234567890"] {
                assert!(!estimate(bad).acceptable(), "{bad}");
                assert!(estimate(bad).advice.is_some(), "{bad} gets advice");
            }
        }

        #[test]
        fn long_input_is_scored_on_its_head_only() {
            assert_eq!(estimate(&"x".repeat(10_000)).score, estimate(&"x".repeat(SCORED_CHARS)).score);
        }
    }
}

/// Two-step verification, as the security page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TwoStepStatus {
    pub enabled: bool,
    /// Unused recovery codes (0 while two-step verification is off).
    pub recovery_codes_left: i64,
}

/// The security page's second factors: two-step verification and the passkeys, fetched in one
/// call (one server function, one resource on the page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorState {
    pub two_step: TwoStepStatus,
    pub passkeys: Vec<PasskeyInfo>,
}

/// A new authenticator, pending until a code from it is entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    /// The secret as text (base32), for typing into the app.
    pub secret: String,
    pub otpauth_uri: String,
    /// The QR code of `otpauth_uri`, an inline `<svg>` element.
    pub qr_svg: String,
}

/// One of the account's passkeys, as the security page and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasskeyInfo {
    pub id: String,
    #[cfg_attr(feature = "ssr", schema(example = "YubiKey 5C"))]
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; null until it is first used to sign in or confirm.
    pub last_used_at: Option<String>,
}

/// An account as an operator's search lists it (`/admin`, `GET /api/v1/admin/users`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountSummary {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub email_verified: bool,
    pub operator: bool,
    /// Disabled by an operator: cannot sign in.
    pub disabled: bool,
}

/// One page of a search, by address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountSearch {
    pub users: Vec<AccountSummary>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<String>,
}

/// A live session of an account, as an operator sees it (the devices page's detail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountSession {
    pub id: String,
    /// The person's name for the device, else "Browser on OS".
    pub device: String,
    pub browser: String,
    pub os: String,
    pub ip: String,
    pub signed_in_at: String,
    pub signed_in_ago: String,
    pub last_active_at: String,
    pub last_active_ago: String,
    pub signed_in_with: String,
}

/// An account's second factors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountFactors {
    /// Two-step verification with an authenticator app is on.
    pub authenticator: bool,
    pub recovery_codes_left: i64,
}

/// One line of an account's security activity, as the person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountEvent {
    pub kind: String,
    pub text: String,
    pub at: String,
    pub ago: String,
}

/// One operator action in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: String,
    pub at: String,
    pub ago: String,
    pub operator_email: String,
    pub target_id: String,
    pub target_email: String,
    /// `sign_out`, `sign_out_all`, `disable`, `enable`, `send_reset`, `remove_second_factor`.
    pub action: String,
    /// The action in words: "disabled the account".
    pub text: String,
}

/// Everything an operator sees about one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountDetail {
    pub user: AccountSummary,
    /// Its sessions, by latest activity (at most 100).
    pub sessions: Vec<AccountSession>,
    pub factors: AccountFactors,
    /// The next sign-in must set a new password first (a second factor was removed).
    pub password_reset_required: bool,
    /// Its latest security events, newest first.
    pub events: Vec<AccountEvent>,
    /// What operators did to it, newest first.
    pub actions: Vec<AuditEntry>,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for older entries; null on the last page.
    pub next_before: Option<String>,
}
