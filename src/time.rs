//! Time in words, shared by the server (which renders it) and the browser (which keeps it
//! ticking), so both say exactly the same thing: "5 minutes ago", "2026-11-27 09:04 UTC".

/// An RFC 3339 UTC instant as people read it: "2026-11-27 09:04 UTC".
pub fn exact(rfc3339: &str) -> String {
    match (rfc3339.get(0..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// The same with seconds, for instants that are minutes away: "2026-11-27 09:04:05 UTC".
pub fn exact_secs(rfc3339: &str) -> String {
    match (rfc3339.get(0..10), rfc3339.get(11..19)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// How long ago `then` was, in words, as of `now` (both unix seconds).
pub fn relative(then: i64, now: i64) -> String {
    let d = (now - then).max(0);
    let (n, unit) = match d {
        0..=44 => return "just now".to_owned(),
        45..=3599 => ((d + 30) / 60, "minute"),
        3600..=86_399 => ((d + 1800) / 3600, "hour"),
        _ => ((d + 43_200) / 86_400, "day"),
    };
    let n = n.max(1);
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_times_drop_seconds_and_name_the_zone() {
        assert_eq!(exact("2026-11-27T09:04:05Z"), "2026-11-27 09:04 UTC");
        assert_eq!(exact_secs("2026-11-27T09:04:05Z"), "2026-11-27 09:04:05 UTC");
        assert_eq!(exact("garbage"), "garbage");
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(100, 100), "just now");
        assert_eq!(relative(100, 110), "just now");
        assert_eq!(relative(100, 50), "just now");
        assert_eq!(relative(0, 60), "1 minute ago");
        assert_eq!(relative(0, 300), "5 minutes ago");
        assert_eq!(relative(0, 7200), "2 hours ago");
        assert_eq!(relative(0, 3 * 86_400), "3 days ago");
    }
}
