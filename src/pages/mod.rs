//! One file per page.

pub mod admin;
pub mod dashboard;
pub mod devices;
pub mod email;
pub mod home;
pub mod login;
pub mod not_found;
pub mod not_me;
pub mod passkeys;
pub mod recovery;
pub mod register;
pub mod security;
pub mod two_step;
