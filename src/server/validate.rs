//! Input parsed once, at the edge, into values that are known to be good (ssr only).

use crate::{error::AppError, server::secret::Secret};
use std::collections::BTreeMap;

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 256;
pub const DISPLAY_NAME_MAX_CHARS: usize = 64;
pub const EMAIL_MAX_CHARS: usize = 254;

/// A syntactically valid email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("Enter your email address".into());
        }
        if email.chars().count() > EMAIL_MAX_CHARS {
            return Err(format!("Email must be at most {EMAIL_MAX_CHARS} characters"));
        }
        // The crate checks RFC 5322 syntax; we also insist on a dot in the domain
        // so `me@localhost` style typos are caught.
        let ok = email_address::EmailAddress::parse_with_options(
            &email,
            email_address::Options::default().without_display_text().without_domain_literal(),
        )
        .map(|e| e.domain().contains('.'))
        .unwrap_or(false);
        if !ok {
            return Err("Enter a valid email address, like name@example.com".into());
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: trimmed, 1–64 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<DisplayName, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Enter a display name".into());
        }
        if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
            return Err(format!("Display name must be at most {DISPLAY_NAME_MAX_CHARS} characters"));
        }
        if name.chars().any(char::is_control) {
            return Err("Display name cannot contain control characters".into());
        }
        Ok(DisplayName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password that meets the length rules and is not too easy to guess (the same zxcvbn
/// estimate and minimum as the page's strength meter). Not trimmed: spaces are characters too.
pub fn new_password(raw: &str) -> Result<Secret, String> {
    let n = raw.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return Err(format!("Password must be at least {PASSWORD_MIN_CHARS} characters"));
    }
    if n > PASSWORD_MAX_CHARS {
        return Err(format!("Password must be at most {PASSWORD_MAX_CHARS} characters"));
    }
    let strength = crate::model::strength::estimate(raw);
    if !strength.acceptable() {
        let advice = strength.advice.map(|a| format!(" {a}")).unwrap_or_default();
        return Err(format!("Password is too easy to guess.{advice}"));
    }
    Ok(Secret::new(raw))
}

/// Registration input, all fields checked at once so every error shows together.
pub fn registration(email: &str, password: &str, display_name: &str) -> Result<(Email, Secret, DisplayName), AppError> {
    let mut fields = BTreeMap::new();
    let e = Email::parse(email).map_err(|m| fields.insert("email".to_string(), m)).ok();
    let p = new_password(password).map_err(|m| fields.insert("password".to_string(), m)).ok();
    let d = DisplayName::parse(display_name).map_err(|m| fields.insert("display_name".to_string(), m)).ok();
    match (e, p, d) {
        (Some(e), Some(p), Some(d)) => Ok((e, p, d)),
        _ => Err(AppError::invalid(fields)),
    }
}

/// A device name the person typed: trimmed, at most 64 characters, no control characters.
/// Empty means "forget the name".
pub fn device_name(raw: &str) -> Result<Option<String>, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > 64 {
        return Err("A device name can be at most 64 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Err("A device name cannot contain control characters".into());
    }
    Ok(Some(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in ["", "ada", "ada@", "@example.com", "ada@localhost", "a b@example.com", "Ada <ada@example.com>"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn password_length_is_bounded_both_ways_and_counts_characters() {
        assert!(new_password("short").is_err());
        let long = "bright otter paints quiet maps ".repeat(10);
        assert!(new_password(&long[..64]).is_ok());
        let accented: String = "élan vital rôde à genève ".chars().cycle().take(256).collect();
        assert!(new_password(&accented).is_ok());
        let too_long: String = accented.chars().chain(std::iter::once('x')).collect();
        assert!(new_password(&too_long).is_err());
    }

    #[test]
    fn long_enough_but_easily_guessed_passwords_are_refused_with_advice() {
        for weak in ["password123", "qwertyuiop", "aaaaaaaaaaaa", &"x".repeat(64)] {
            let message = new_password(weak).err().unwrap_or_default();
            assert!(message.starts_with("Password is too easy to guess."), "{weak}: {message}");
        }
        for fine in ["correct horse battery staple", "a brand new passphrase", "a brand new passphrase 2"] {
            assert!(new_password(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(65)).is_err());
        assert!(DisplayName::parse("a\u{0007}b").is_err());
    }

    #[test]
    fn registration_reports_every_bad_field_at_once() {
        let err = registration("nope", "short", "").unwrap_err();
        for f in ["email", "password", "display_name"] {
            assert!(err.field(f).is_some(), "{f}");
        }
    }
}
