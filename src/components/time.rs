//! Times shown twice: in words ("5 minutes ago") and exactly ("2026-11-27 09:04 UTC"), so the
//! exact time is visible on touch screens and to screen readers, not only in a tooltip.

use leptos::prelude::*;

/// An RFC 3339 UTC instant as people read it: "2026-11-27 09:04 UTC". Pure, so the server's
/// render and the browser's hydration agree.
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

/// "5 minutes ago · 2026-11-27 09:04 UTC", from a relative text the server worked out.
#[component]
pub fn When(#[prop(into)] at: String, #[prop(into)] ago: String) -> impl IntoView {
    let exact_text = exact(&at);
    view! {
        <span class="when">
            <time datetime=at.clone() title=exact_text.clone()>{ago}</time>
            <span class="exact">{exact_text}</span>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_times_drop_seconds_and_name_the_zone() {
        assert_eq!(exact("2026-11-27T09:04:05Z"), "2026-11-27 09:04 UTC");
        assert_eq!(exact("garbage"), "garbage");
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(100, 100), "just now");
        assert_eq!(relative(0, 60), "1 minute ago");
        assert_eq!(relative(0, 7200), "2 hours ago");
        assert_eq!(relative(0, 3 * 86_400), "3 days ago");
    }
}
