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

#[cfg(test)]
mod tests {
    #[test]
    fn renders_rfc3339_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    }
}

/// How long ago `then` was, in words: "just now", "5 minutes ago", "3 days ago".
/// The wording lives in one place, shared with the browser: `components::time::relative`.
pub fn ago(then: i64, now: i64) -> String {
    crate::components::time::relative(then, now)
}

#[cfg(test)]
mod ago_tests {
    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(super::ago(100, 110), "just now");
        assert_eq!(super::ago(0, 60), "1 minute ago");
        assert_eq!(super::ago(0, 300), "5 minutes ago");
        assert_eq!(super::ago(0, 7200), "2 hours ago");
        assert_eq!(super::ago(0, 3 * 86400), "3 days ago");
        assert_eq!(super::ago(100, 50), "just now");
    }
}
