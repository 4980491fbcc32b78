//! The use cases (ssr only): everything a person or an API client can do, written once.
//!
//! The browser's server functions (`crate::api`) and the JSON API (`server::http::api`) are
//! thin adapters around these: they parse their input, call one function here and shape its
//! answer, so both surfaces follow exactly the same rules. Each function takes the state,
//! the verified caller where there is one, and `now`.
//!
//! - `account`: register, sign in, refresh, sign out, change the password.
//! - `devices`: the caller's sessions — list, name, sign out one, the others, or all;
//!   "This wasn't me".
//! - `dashboard`: what the dashboard shows, and "is my session still good?".
//! - `recovery`: "Forgot password?" — the mailed link, and the new password it sets.
//! - `email`: the account's address — verifying it, and moving to a new one.
//! - `two_step`: the authenticator app and recovery codes — set up, sign in with, turn off.
//! - `passkeys`: WebAuthn credentials — add, list, remove, sign in and confirm with them.
//! - `step_up`: "Confirm it's you" before sensitive actions.
//! - `new_device`: the mail about a sign-in from a new device, and its "This wasn't me" link.
//! - `admin`: operators — find an account, see it, sign it out, disable or enable it, send
//!   it a reset link, remove a lost second factor; every action audited.
//! - `forward`: forward-auth — may a request for another app behind the proxy go through?

pub mod account;
pub mod admin;
pub mod dashboard;
pub mod devices;
pub mod email;
pub mod new_device;
pub mod passkeys;
pub mod forward;
pub mod recovery;
pub mod step_up;
pub mod two_step;
