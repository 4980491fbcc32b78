//! Recognising a device from its User-Agent (ssr only), with the `woothee` parser.
//! What comes out is only ever rendered as text.
//!
//! A session's User-Agent is parsed once, when it signs in; the result is stored with the
//! session (`sessions.browser`, `os`, `device_kind`) and read back by [`DeviceInfo::stored`],
//! so listing devices or telling the activity parses nothing.

use crate::model::DeviceKind;

/// Browser, OS and kind of device, as people call them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub browser: String,
    pub os: String,
    pub kind: DeviceKind,
}

impl DeviceInfo {
    /// "Firefox on Windows 10", or whatever part of that is known.
    pub fn label(&self) -> String {
        label(&self.browser, &self.os)
    }

    /// What was stored at sign-in; `user_agent` is parsed only for rows written before the
    /// columns existed (all null).
    pub fn stored(browser: Option<&str>, os: Option<&str>, kind: Option<&str>, user_agent: &str) -> DeviceInfo {
        match (browser, os) {
            (Some(browser), Some(os)) => DeviceInfo {
                browser: browser.to_owned(),
                os: os.to_owned(),
                kind: kind.and_then(parse_kind).unwrap_or(DeviceKind::Other),
            },
            _ => parse(user_agent),
        }
    }
}

/// "Firefox on Windows 10" from a browser and an OS as [`parse`] names them.
pub fn label(browser: &str, os: &str) -> String {
    match (browser, os) {
        ("Unknown browser", "Unknown OS") => "Unknown device".to_owned(),
        (b, "Unknown OS") => b.to_owned(),
        ("Unknown browser", o) => format!("A browser on {o}"),
        (b, o) => format!("{b} on {o}"),
    }
}

/// The stored text of a device kind (`sessions.device_kind`).
pub fn kind_as_str(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Desktop => "desktop",
        DeviceKind::Phone => "phone",
        DeviceKind::Tablet => "tablet",
        DeviceKind::Bot => "bot",
        DeviceKind::Other => "other",
    }
}

fn parse_kind(value: &str) -> Option<DeviceKind> {
    [DeviceKind::Desktop, DeviceKind::Phone, DeviceKind::Tablet, DeviceKind::Bot, DeviceKind::Other]
        .into_iter()
        .find(|k| kind_as_str(*k) == value)
}

pub fn parse(user_agent: &str) -> DeviceInfo {
    let parsed = woothee::parser::Parser::new().parse(user_agent);
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    let (mut browser, os, category) = match &parsed {
        Some(r) => (
            known(r.name).then(|| r.name.to_owned()),
            known(r.os).then(|| {
                let v = r.os_version.as_ref();
                // Windows versions are names ("10"); others are noisy build numbers.
                if r.os.starts_with("Windows") && known(v) && !r.os.contains(v) { format!("{} {v}", r.os) } else { r.os.to_owned() }
            }),
            r.category,
        ),
        None => (None, None, ""),
    };
    // woothee predates headless browsers; name them plainly rather than "unknown".
    if browser.is_none() && user_agent.contains("HeadlessChrome/") {
        browser = Some("Headless Chrome".into());
    }
    let kind = match category {
        "pc" => DeviceKind::Desktop,
        "smartphone" | "mobilephone" => DeviceKind::Phone,
        "crawler" => DeviceKind::Bot,
        _ if user_agent.contains("iPad") || user_agent.contains("Tablet") => DeviceKind::Tablet,
        _ => DeviceKind::Other,
    };
    DeviceInfo {
        browser: browser.unwrap_or_else(|| "Unknown browser".into()),
        os: os.unwrap_or_else(|| "Unknown OS".into()),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_are_recognised() {
        let firefox = parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0");
        assert_eq!((firefox.browser.as_str(), firefox.kind), ("Firefox", DeviceKind::Desktop));
        assert!(firefox.os.starts_with("Windows"), "{}", firefox.os);
        let iphone = parse("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1");
        assert_eq!((iphone.browser.as_str(), iphone.os.as_str(), iphone.kind), ("Safari", "iPhone", DeviceKind::Phone));
        let chrome = parse("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36");
        assert_eq!(chrome.label(), "Chrome on Linux");
    }

    #[test]
    fn stored_details_are_used_as_they_are_and_only_missing_ones_are_parsed() {
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
        let stored = DeviceInfo::stored(Some("Safari"), Some("iPhone"), Some("phone"), firefox);
        assert_eq!((stored.label().as_str(), stored.kind), ("Safari on iPhone", DeviceKind::Phone));
        assert_eq!(DeviceInfo::stored(None, None, None, firefox), parse(firefox));
        for kind in [DeviceKind::Desktop, DeviceKind::Phone, DeviceKind::Tablet, DeviceKind::Bot, DeviceKind::Other] {
            assert_eq!(parse_kind(kind_as_str(kind)), Some(kind));
        }
        assert_eq!(DeviceInfo::stored(Some("A"), Some("B"), Some("toaster"), "").kind, DeviceKind::Other);
    }

    #[test]
    fn garbage_and_markup_are_just_unknown() {
        assert_eq!(parse("").label(), "Unknown device");
        assert_eq!(parse("<script>alert(1)</script>").label(), "Unknown device");
    }
}
