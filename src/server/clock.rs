//! Time as unix seconds, and RFC 3339 rendering (ssr only). Logic takes `now` as an
//! argument so tests move time instead of sleeping.

/// Now, in unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix seconds as RFC 3339 UTC, e.g. `2026-11-27T08:15:00Z`.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// How long ago `then` was, in words (the wording is `crate::time::relative`, shared with
/// the browser).
pub use crate::time::relative as ago;

#[cfg(test)]
mod tests {
    #[test]
    fn renders_rfc3339_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
