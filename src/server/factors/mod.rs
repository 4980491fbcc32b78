//! Second factors (ssr only): what proves who someone is besides the password.
//!
//! - `totp`: the authenticator app (RFC 6238): secrets, codes, replay refusal, the QR code.
//! - `recovery_codes`: ten single-use codes for when the phone is gone.
//! - `passkeys`: WebAuthn credentials and the ceremonies under way (storage).
//! - `sealed`: secrets the server must read back (TOTP secrets) are stored encrypted under a
//!   key that never lives in the database.
//!
//! The sign-in step between a right password and a session is `tokens::challenge`; the use
//! cases are `service::two_step`.

pub mod passkeys;
pub mod recovery_codes;
pub mod sealed;
pub mod totp;
