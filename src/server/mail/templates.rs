//! Every message's words (ssr only), as plain text and HTML with one look. Everything a
//! person or a browser supplied (names, User-Agents) is escaped in the HTML part. Each
//! message says what happened, when, from which device and address, and what to do if it
//! was not them.

use super::Outgoing;

const PRODUCT: &str = "Gatehouse";

/// Where and when something happened, as a message tells it.
#[derive(Debug, Clone)]
pub struct Circumstances {
    /// "2026-11-29 09:04 UTC".
    pub when: String,
    /// "Firefox on Windows 10".
    pub device: String,
    /// The client address, or empty.
    pub ip: String,
}

/// "Your password was changed": to the account's address after a change or a reset.
pub fn password_changed(to: &str, name: &str, at: &Circumstances, reset_url: &str) -> Outgoing {
    compose(
        to,
        "Your password was changed",
        name,
        &[
            format!("The password of your {PRODUCT} account was changed on {}, from {}{}.", at.when, at.device, from_ip(at)),
            "Every other device was signed out.".to_owned(),
        ],
        None,
        &format!("If this wasn't you, someone else knows your password: set a new one now at {reset_url} and review your devices."),
    )
}

/// "Reset your password": the link, to the account's address, after "Forgot password?".
pub fn password_reset(to: &str, name: &str, at: &Circumstances, link: &str, minutes: i64) -> Outgoing {
    compose(
        to,
        "Reset your password",
        name,
        &[
            format!("Someone asked to reset the password of your {PRODUCT} account on {}, from {}{}.", at.when, at.device, from_ip(at)),
            format!("The link below sets a new password. It works once, for {minutes} minutes; setting it signs out every device."),
        ],
        Some(("Set a new password", link)),
        "If this wasn't you, ignore this message: your password stays as it is, and nobody can use the link without this mailbox.",
    )
}

/// "New sign-in to your account": to the account's address after a sign-in from a device the
/// account had not used before, with the "This wasn't me" link (`service::new_device`). The
/// device is what the browser says it is, and the message says so.
pub fn new_sign_in(to: &str, name: &str, at: &Circumstances, not_me_link: &str, days: i64) -> Outgoing {
    compose(
        to,
        "New sign-in to your account",
        name,
        &[
            format!(
                "Your {PRODUCT} account was signed in to on {}, from {}{} (as the browser describes itself) — a device this account had not been used on before.",
                at.when,
                at.device,
                from_ip(at)
            ),
            "If this was you, for example on a new browser or after clearing cookies, there is nothing to do.".to_owned(),
        ],
        Some(("This wasn't me", not_me_link)),
        &format!(
            "If this wasn't you, open the link above (it works once, for {days} days): its button signs that device out at once \
             and sends you a link to set a new password. Whoever signed in knows your password, so set a new one \
             and review your devices."
        ),
    )
}

/// "Verify your email address": the link, to a new account's address (or on request).
pub fn verify_email(to: &str, name: &str, link: &str, hours: i64) -> Outgoing {
    compose(
        to,
        "Verify your email address",
        name,
        &[
            format!("Please confirm that {to} is the address of your {PRODUCT} account: it is where we send password reset links and security alerts."),
            format!("The link below works once, for {hours} hours."),
        ],
        Some(("Verify my address", link)),
        &format!("If you did not create a {PRODUCT} account with this address, ignore this message: nothing happens unless the link is followed."),
    )
}

/// "Confirm your new email address": the link, to the address an account asked to move to.
pub fn confirm_new_email(to: &str, name: &str, at: &Circumstances, link: &str, hours: i64) -> Outgoing {
    compose(
        to,
        "Confirm your new email address",
        name,
        &[
            format!("Someone signed in to a {PRODUCT} account asked on {}, from {}{}, to make {to} its address.", at.when, at.device, from_ip(at)),
            format!("The link below makes the change. It works once, for {hours} hours; until it is followed, the account keeps its current address."),
        ],
        Some(("Confirm new address", link)),
        "If this wasn't you, ignore this message: the account's address stays as it is.",
    )
}

/// "Your email address was changed": to the old address, once the new one is confirmed.
pub fn email_changed(to: &str, name: &str, at: &Circumstances, new_email: &str) -> Outgoing {
    compose(
        to,
        "Your email address was changed",
        name,
        &[
            format!("The address of your {PRODUCT} account was changed to {new_email} on {}, from {}{}.", at.when, at.device, from_ip(at)),
            "From now on, password reset links and security alerts go to the new address.".to_owned(),
        ],
        None,
        "If this wasn't you, someone who could sign in to your account changed it, and reset links now go to them: contact the site's support at once and keep this message.",
    )
}

/// A change to how the account signs in (two-step verification on or off, new recovery
/// codes, a recovery code used): what changed, when and from where.
pub fn security_change(to: &str, name: &str, at: &Circumstances, subject: &str, what: &str) -> Outgoing {
    compose(
        to,
        subject,
        name,
        &[format!("{what} This happened on {}, from {}{}.", at.when, at.device, from_ip(at))],
        None,
        "If this wasn't you, someone else can sign in to your account: reset your password now and review your devices.",
    )
}

/// An operator acted on the account (`service::admin`): what they did, and when. The
/// operator's device and address are theirs, not the person's: not told.
pub fn by_administrator(to: &str, name: &str, when: &str, subject: &str, what: &str) -> Outgoing {
    compose(
        to,
        subject,
        name,
        &[format!("{what} An administrator of {PRODUCT} did this on {when}.")],
        None,
        "If you did not expect this, contact the people who run this service.",
    )
}

/// A link to set a new password, sent by an operator for the person.
pub fn reset_by_administrator(to: &str, name: &str, when: &str, link: &str, minutes: i64) -> Outgoing {
    compose(
        to,
        "Set a new password",
        name,
        &[
            format!("An administrator of {PRODUCT} sent you this link to set a new password for your account, on {when}."),
            format!("It works once, for {minutes} minutes; setting a password signs out every device."),
        ],
        Some(("Set a new password", link)),
        "If you did not expect this, ignore this message: your password stays as it is, and nobody can use the link without this mailbox.",
    )
}

fn from_ip(at: &Circumstances) -> String {
    if at.ip.is_empty() { String::new() } else { format!(" (address {})", at.ip) }
}

/// One message in both parts: a greeting, paragraphs, an optional button, and a last word
/// on what to do if it was not them.
fn compose(to: &str, subject: &str, name: &str, paragraphs: &[String], action: Option<(&str, &str)>, not_you: &str) -> Outgoing {
    let mut text = format!("Hello {name},\n\n");
    for p in paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
    }
    if let Some((label, url)) = action {
        text.push_str(&format!("{label}: {url}\n\n"));
    }
    text.push_str(not_you);
    text.push_str(&format!("\n\n— {PRODUCT}\n"));

    let mut body = format!("<p>Hello {},</p>", escape(name));
    for p in paragraphs {
        body.push_str(&format!("<p>{}</p>", escape(p)));
    }
    if let Some((label, url)) = action {
        body.push_str(&format!(
            "<p><a href=\"{}\" style=\"display:inline-block;padding:10px 18px;background:#1d4ed8;color:#ffffff;\
             border-radius:6px;text-decoration:none;font-weight:600\">{}</a></p>\
             <p style=\"font-size:13px;color:#555\">Or paste this into your browser: {}</p>",
            escape(url),
            escape(label),
            escape(url)
        ));
    }
    body.push_str(&format!("<p style=\"font-size:13px;color:#555\">{}</p>", escape(not_you)));
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"margin:0;padding:24px;background:#f4f4f5;font-family:system-ui,sans-serif;color:#18181b\">\
         <div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px\">\
         <p style=\"font-weight:700;font-size:18px;margin-top:0\">{PRODUCT}</p>{body}</div></body></html>",
        title = escape(subject),
    );
    Outgoing { to: to.to_owned(), subject: format!("{PRODUCT}: {subject}"), text, html }
}

/// Text made safe for HTML, attribute values included.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_people_and_browsers_supplied_is_escaped_in_html_and_plain_in_text() {
        let at = Circumstances { when: "2026-11-29 09:04 UTC".into(), device: "<img src=x onerror=alert(1)>".into(), ip: "203.0.113.9".into() };
        let m = password_changed("ada@example.com", "Ada \"<b>\"", &at, "https://auth.example.com/forgot-password");
        assert_eq!(m.subject, "Gatehouse: Your password was changed");
        assert!(m.text.contains("<img src=x onerror=alert(1)>"), "plain text stays as typed");
        assert!(m.text.contains("2026-11-29 09:04 UTC") && m.text.contains("203.0.113.9"));
        assert!(!m.html.contains("<img") && !m.html.contains("<b>"), "{}", m.html);
        assert!(m.html.contains("&lt;img src=x onerror=alert(1)&gt;") && m.html.contains("Ada &quot;&lt;b&gt;&quot;"));
    }

    #[test]
    fn the_new_sign_in_alert_names_the_device_address_time_and_the_link() {
        let at = Circumstances { when: "2026-11-29 09:04 UTC".into(), device: "Safari on iOS".into(), ip: "203.0.113.9".into() };
        let m = new_sign_in("ada@example.com", "Ada", &at, "https://auth.example.com/not-me?token=abc", 7);
        assert_eq!(m.subject, "Gatehouse: New sign-in to your account");
        for part in [&m.text, &m.html] {
            for needle in ["Safari on iOS", "203.0.113.9", "2026-11-29 09:04 UTC", "https://auth.example.com/not-me?token=abc", "7 days"] {
                assert!(part.contains(needle), "{needle} in {part}");
            }
        }
        assert!(m.text.contains("This wasn't me: https://auth.example.com/not-me?token=abc"), "{}", m.text);
    }
}
