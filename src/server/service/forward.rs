//! Forward-auth (ssr only): may a request bound for *another* app behind the same proxy
//! (nginx `auth_request`, Traefik ForwardAuth, Caddy `forward_auth`) go through, and as whom?
//! The HTTP side is `server::http::forward`; docs/forward-auth.md has the proxy configurations.
//!
//! The check is the one every Gatehouse page makes — the access token verified (signature or
//! the verified cache, claims) and its session looked up in the in-memory revocation list —
//! so "Sign out this device" shuts that device out of every app behind the gate on its very
//! next request. When the access token has expired and the refresh cookie came along, the
//! check refreshes with [`account::refresh`] (the one rotation, with its grace window and
//! theft detection) and hands the new pair back for the proxy to set.
//!
//! Three settings shape it:
//! - [`HostPattern`]s of `GATEHOUSE_FORWARD_ALLOWED_HOSTS`: the only hosts a return URL
//!   (`rd`) may point at — the sign-in page follows nothing else (no open redirect).
//! - [`Rule`]s of `GATEHOUSE_FORWARD_RULES`: which accounts may enter which host. A host with
//!   no rule admits anyone signed in.
//! - `GATEHOUSE_COOKIE_DOMAIN` (see `server::cookies`): one sign-in for a family of hosts.

use crate::{
    error::AppError,
    model::User,
    server::{
        auth,
        client::Client,
        service::account,
        state::AppState,
        tokens::{access, Issued},
        users,
    },
};
use std::sync::Arc;

/// A host, or a family of hosts, as the settings name them: `app.example.com` (that host
/// exactly) or `.example.com` (any host under it: `a.example.com`, `b.a.example.com` — not
/// `example.com` itself). Ports are not part of it: any port of a matching host matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    /// Stored with its leading dot.
    Suffix(String),
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        let (suffix, name) = match text.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, text.as_str()),
        };
        if !is_host_name(name) {
            return Err(format!(
                "`{text}` is not a host name (`app.example.com`) or a family of hosts (`.example.com`)"
            ));
        }
        Ok(if suffix { HostPattern::Suffix(format!(".{name}")) } else { HostPattern::Exact(name.to_owned()) })
    }

    /// `host` is lower-case, without a port.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => host == name,
            HostPattern::Suffix(dotted) => host.len() > dotted.len() && host.ends_with(dotted.as_str()),
        }
    }

    /// The same hosts as a CSP source (any port, the page's scheme).
    fn csp_source(&self) -> String {
        match self {
            HostPattern::Exact(name) => format!("{name}:*"),
            HostPattern::Suffix(dotted) => format!("*{dotted}:*"),
        }
    }
}

/// Letters, digits and hyphens in dot-separated labels: what DNS names look like (IDNs in
/// their `xn--` form). IP addresses are not accepted: the family of hosts is named.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Who may enter the hosts a rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// An account whose address is verified.
    Verified,
    /// These addresses (`alice@example.com`) or anyone at these domains (`@example.com`),
    /// compared without regard to case — and the address must be verified, or anyone could
    /// register someone else's address and walk in.
    Emails(Vec<String>),
    /// An operator (`gatehouse admin grant`), read from the account at every check.
    Operator,
}

/// One `GATEHOUSE_FORWARD_RULES` entry: `host=verified`, `host=operator` or
/// `host=alice@example.com|@example.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub hosts: HostPattern,
    pub requirement: Requirement,
}

impl Rule {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (hosts, requirement) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}`: a rule reads `host=verified`, `host=operator` or `host=alice@example.com|@example.org`"))?;
        let hosts = HostPattern::parse(hosts)?;
        let requirement = requirement.trim();
        let requirement = if requirement.eq_ignore_ascii_case("verified") {
            Requirement::Verified
        } else if requirement.eq_ignore_ascii_case("operator") {
            Requirement::Operator
        } else {
            let emails: Vec<String> = requirement.split('|').map(|e| e.trim().to_lowercase()).collect();
            let valid = |e: &String| match e.split_once('@') {
                Some((local, domain)) => is_host_name(domain) && !local.contains(char::is_whitespace),
                None => false,
            };
            if emails.is_empty() || !emails.iter().all(valid) {
                return Err(format!(
                    "`{text}`: after `=`, `verified`, `operator`, or addresses and `@domain`s separated by `|`"
                ));
            }
            Requirement::Emails(emails)
        };
        Ok(Rule { hosts, requirement })
    }

    /// Does this account meet the rule? `operator`: it is an operator and not disabled.
    pub fn admits(&self, email: &str, email_verified: bool, operator: bool) -> bool {
        match &self.requirement {
            Requirement::Verified => email_verified,
            Requirement::Operator => operator,
            Requirement::Emails(allowed) => {
                let email = email.to_lowercase();
                email_verified
                    && allowed.iter().any(|a| if a.starts_with('@') { email.ends_with(a.as_str()) } else { *a == email })
            }
        }
    }
}

/// The forward-auth settings, parsed once at start-up.
#[derive(Debug, Clone, Default)]
pub struct ForwardSettings {
    pub allowed_hosts: Vec<HostPattern>,
    pub rules: Vec<Rule>,
    /// `form-action` sources for the sign-in page, so a form post without JavaScript may be
    /// redirected on to an allowed host (CSP applies `form-action` to redirects too).
    pub form_action_sources: String,
}

/// A return URL is at most this long.
const MAX_RETURN_URL: usize = 2048;

impl ForwardSettings {
    pub fn new(allowed_hosts: Vec<HostPattern>, rules: Vec<Rule>) -> Self {
        let form_action_sources = allowed_hosts.iter().map(HostPattern::csp_source).collect::<Vec<_>>().join(" ");
        ForwardSettings { allowed_hosts, rules, form_action_sources }
    }

    /// `candidate` as the URL to send a browser to, when it is an absolute http(s) URL on an
    /// allowed host with no user name or password; `None` otherwise. The answer is the URL as
    /// a browser parses it (re-serialized), so what was checked is what the browser follows:
    /// `//evil.com`, `https:evil.com`, `http://app.example.com\@evil.com`,
    /// `http://evil.com#.example.com`, tabs and newlines inside — all end up with the host the
    /// browser would use, and that host is what is compared.
    pub fn return_url(&self, candidate: &str) -> Option<String> {
        if candidate.len() > MAX_RETURN_URL || self.allowed_hosts.is_empty() {
            return None;
        }
        let url = url::Url::parse(candidate).ok()?;
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        let url::Host::Domain(host) = url.host()? else { return None };
        let host = host.trim_end_matches('.');
        self.allowed_hosts.iter().any(|p| p.matches(host)).then(|| url.to_string())
    }

    /// The first rule naming `host` (lower-case, no port).
    pub fn rule_for(&self, host: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.hosts.matches(host))
    }
}

/// The host part of a `Host`-like header value, lower-case, without port or trailing dot.
pub fn host_without_port(value: &str) -> String {
    let value = value.trim();
    let host = if let Some(rest) = value.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        value.split(':').next().unwrap_or("")
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// What the browser (through its proxy) presented, read in place from the request.
#[derive(Default)]
pub struct Presented<'r> {
    /// `Authorization: Bearer …` of the original request (API clients).
    pub bearer: Option<&'r str>,
    /// The access cookie.
    pub access: Option<&'r str>,
    /// The refresh cookie (it reaches the check only with `GATEHOUSE_COOKIE_DOMAIN`, or when
    /// the protected app lives under `/auth` of Gatehouse's own host).
    pub refresh: Option<&'r str>,
}

impl std::fmt::Debug for Presented<'_> {
    /// Which credentials came, never their values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("bearer", &self.bearer.is_some())
            .field("access", &self.access.is_some())
            .field("refresh", &self.refresh.is_some())
            .finish()
    }
}

/// The answer of a check.
#[derive(Debug)]
pub enum Verdict {
    /// Let it through as this person; with a new pair when the check refreshed.
    Allowed { user: Arc<User>, session_id: String, refreshed: Option<Box<Issued>> },
    /// Nobody (valid) is signed in. `ended`: the session behind the cookies is over (clear them).
    SignIn { ended: bool },
    /// Signed in, but this account may not enter this host.
    Refused { refreshed: Option<Box<Issued>> },
}

/// Checks a request for `host` (lower-case, no port; `None`: the proxy did not say).
/// `client` describes the browser; it is asked for only when the check refreshes (the
/// common case, a valid access token, needs nothing from it).
pub async fn check(
    state: &AppState,
    presented: &Presented<'_>,
    host: Option<&str>,
    client: impl FnOnce() -> Client,
    now: i64,
) -> Result<Verdict, AppError> {
    let rule = host.and_then(|h| state.forward.rule_for(h));
    if let Some(bearer) = presented.bearer {
        // An API client: its token decides, there is nothing to refresh with.
        return match auth::verify(state, bearer, now) {
            Ok(caller) => decide(state, rule, &caller.user_id, &caller.session_id, None).await,
            Err(_) => Ok(Verdict::SignIn { ended: false }),
        };
    }
    if let Some(token) = presented.access {
        if let Ok(caller) = auth::verify(state, token, now) {
            return decide(state, rule, &caller.user_id, &caller.session_id, None).await;
        }
    }
    let Some(refresh_token) = presented.refresh else {
        return Ok(Verdict::SignIn { ended: false });
    };
    // Someone this host refuses gets the refusal before any rotation: a proxy may drop the
    // new cookies of a refused request, and the browser would keep a spent token.
    if let (Some(rule), Some(token)) = (rule, presented.access) {
        if let Ok(claims) = access::verify_ignoring_time(&state.keys.current(), &state.access, token) {
            match users::by_id(&state.db, &claims.sub).await? {
                Some(row) if !rule.admits(&row.email, row.email_verified_at.is_some(), row.operator_since.is_some() && row.disabled_at.is_none()) => {
                    return Ok(Verdict::Refused { refreshed: None })
                }
                _ => {}
            }
        }
    }
    match account::refresh(state, refresh_token, &client(), now).await {
        Ok(issued) => {
            let issued = Box::new(issued);
            let (user_id, session_id) = (issued.user.id.clone(), issued.session_id.clone());
            decide(state, rule, &user_id, &session_id, Some(issued)).await
        }
        Err(e) if e.session_ended() => Ok(Verdict::SignIn { ended: true }),
        Err(e) => Err(e),
    }
}

/// The signed-in person, checked against the host's rule. A rule decides access, so it reads
/// the account itself, never the profile cache (which may be 30 s behind another instance).
async fn decide(state: &AppState, rule: Option<&Rule>, user_id: &str, session_id: &str, refreshed: Option<Box<Issued>>) -> Result<Verdict, AppError> {
    let user = match rule {
        Some(rule) => match users::by_id(&state.db, user_id).await? {
            Some(row) if rule.admits(&row.email, row.email_verified_at.is_some(), row.operator_since.is_some() && row.disabled_at.is_none()) => Arc::new(row.public()),
            Some(_) => return Ok(Verdict::Refused { refreshed }),
            None => return Ok(Verdict::SignIn { ended: true }),
        },
        None => match &refreshed {
            Some(issued) => Arc::new(issued.user.clone()),
            None => match account::profile(state, user_id).await {
                Ok(user) => user,
                Err(AppError::InvalidToken) => return Ok(Verdict::SignIn { ended: true }),
                Err(e) => return Err(e),
            },
        },
    };
    Ok(Verdict::Allowed { user, session_id: session_id.to_owned(), refreshed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(hosts: &[&str]) -> ForwardSettings {
        ForwardSettings::new(hosts.iter().map(|h| HostPattern::parse(h).unwrap()).collect(), Vec::new())
    }

    #[test]
    fn return_urls_go_only_to_allowed_hosts_over_http_or_https() {
        let s = settings(&["app.example.com", ".apps.example.com"]);
        assert_eq!(s.return_url("https://app.example.com/wiki?a=1&b=2").as_deref(), Some("https://app.example.com/wiki?a=1&b=2"));
        assert_eq!(s.return_url("http://app.example.com:8080/").as_deref(), Some("http://app.example.com:8080/"));
        assert_eq!(s.return_url("https://APP.Example.com/x").as_deref(), Some("https://app.example.com/x"));
        assert!(s.return_url("https://wiki.apps.example.com/").is_some());
        assert!(s.return_url("https://a.b.apps.example.com/").is_some());
        for bad in [
            "//app.example.com/",
            "/dashboard",
            "app.example.com/x",
            "https://evil.com/",
            "https://apps.example.com/",           // the family, not its parent
            "https://evilapps.example.com/",       // a suffix of the name, not of its labels
            "https://app.example.com.evil.com/",
            "https://user@app.example.com/",
            "https://user:pw@app.example.com/",
            "https://evil.com@app.example.com/",
            "https://evil.com#.app.example.com",
            "https://evil.com/?app.example.com",
            "https:evil.com",
            "javascript://app.example.com/%0aalert(1)",
            "data:text/html,app.example.com",
            "ftp://app.example.com/",
            "https://127.0.0.1/",
            "",
        ] {
            assert_eq!(s.return_url(bad), None, "{bad:?}");
        }
        // A backslash ends the host as it does in a browser: these stay on the allowed host.
        assert_eq!(s.return_url("https://app.example.com\\@evil.com/").as_deref(), Some("https://app.example.com/@evil.com/"));
        assert_eq!(s.return_url("http://app.example.com\\.evil.com/").as_deref(), Some("http://app.example.com/.evil.com/"));
        // Whatever the browser would strip is stripped before the host is compared.
        assert_eq!(s.return_url("https://app.exam\tple.com/").as_deref(), Some("https://app.example.com/"));
        assert_eq!(s.return_url("https://evil.com\n.app.example.com/"), None);
        assert_eq!(s.return_url(&format!("https://app.example.com/{}", "a".repeat(3000))), None);
        assert_eq!(settings(&[]).return_url("https://app.example.com/"), None);
    }

    #[test]
    fn host_patterns_are_names_or_families_of_names() {
        assert_eq!(HostPattern::parse(" App.Example.com ").unwrap(), HostPattern::Exact("app.example.com".into()));
        assert_eq!(HostPattern::parse(".example.com").unwrap(), HostPattern::Suffix(".example.com".into()));
        for bad in ["", ".", "*.example.com", "example.com:443", "https://example.com", "exa mple.com", "a..b", "-a.com", "a/b"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(settings(&["a.example.com", ".b.example.com"]).form_action_sources, "a.example.com:* *.b.example.com:*");
    }

    #[test]
    fn rules_admit_verified_accounts_or_listed_verified_addresses() {
        let verified = Rule::parse("admin.example.com=verified").unwrap();
        assert!(verified.admits("a@x.com", true, false));
        assert!(!verified.admits("a@x.com", false, false));
        let listed = Rule::parse(".ops.example.com=Alice@Example.com|@staff.example.com").unwrap();
        assert!(listed.admits("alice@example.com", true, false));
        assert!(listed.admits("bob@staff.example.com", true, false));
        assert!(!listed.admits("bob@notstaff.example.com", true, false));
        assert!(!listed.admits("alice@example.com", false, false), "an unproven address proves nothing");
        assert!(!listed.admits("mallory@example.com", true, false));
        let operators = Rule::parse("ops.example.com=operator").unwrap();
        assert!(operators.admits("a@x.com", false, true));
        assert!(!operators.admits("a@x.com", true, false));
        for bad in ["admin.example.com", "admin.example.com=", "=verified", "x.com=nobody", "x.com=a@", "x.com=a@b.com|"] {
            assert!(Rule::parse(bad).is_err(), "{bad:?}");
        }
        let s = ForwardSettings::new(Vec::new(), vec![verified, listed]);
        assert!(s.rule_for("admin.example.com").is_some());
        assert!(s.rule_for("db.ops.example.com").is_some());
        assert!(s.rule_for("wiki.example.com").is_none());
    }

    #[test]
    fn forwarded_hosts_lose_their_port_and_case() {
        assert_eq!(host_without_port("App.Example.com:8443"), "app.example.com");
        assert_eq!(host_without_port("app.example.com."), "app.example.com");
        assert_eq!(host_without_port("[::1]:80"), "::1");
    }
}
