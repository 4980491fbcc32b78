//! The two token cookies and the device cookie (ssr only).
//!
//! - access token: `HttpOnly; SameSite=Lax; Path=/` — sent with every page and call.
//! - refresh token: `HttpOnly; SameSite=Strict; Path=/auth` — sent only to the refresh and
//!   sign-out endpoints, never to pages, never readable by scripts.
//! - device token (`server::known_devices`): `HttpOnly; SameSite=Strict; Path=/`, for 180
//!   days — says "this browser signed in to these accounts before", so others' failed
//!   sign-ins do not slow it down. It opens nothing by itself, and signing out keeps it: the
//!   browser stays a device its owner has used.
//!
//! - sign-in challenge (`tokens::challenge`): `HttpOnly; SameSite=Strict;
//!   Path=/fn/second-factor`, for 5 minutes — a right password waiting for its code; sent
//!   only to the call that takes the code.
//!
//! - done (`DONE_COOKIE`): `HttpOnly; SameSite=Strict`, path of one page, for a minute — what
//!   a plain form's action did, said once by the page it comes back to (a "flash"), where
//!   the page's address must stay as it was.
//!
//! Over https all get `Secure`, and prefixes the browser enforces: `__Host-` for the access
//! and device cookies (Secure, Path=/, no Domain: no other host can plant one) and
//! `__Secure-` for the refresh cookie (`__Host-` demands Path=/, which would send the refresh
//! token everywhere).
//!
//! **A family of hosts** (`GATEHOUSE_COOKIE_DOMAIN=example.com`, for forward-auth, see
//! `service::forward`): the access and refresh cookies get `Domain=example.com`, so one sign-in
//! covers `app1.example.com` and `app2.example.com`; the refresh cookie then has `Path=/`, the
//! only way it reaches the forward-auth check of a request to any path of any of those hosts
//! (that check is what refreshes while people use the other apps). They carry other names
//! (`gh_shared_access`, `gh_shared_refresh`; over https `__Secure-…`, since `__Host-` forbids
//! a Domain), so host-only cookies set before the setting changed are never read beside them
//! — turning the setting on or off means signing in again. The price: every host under the
//! domain receives both tokens with every request (proxies should strip them before the app
//! behind, as docs/forward-auth.md shows), and any of those hosts can set cookies that
//! Gatehouse reads. Only name a domain whose every host is yours. The device cookie stays
//! host-only.

use crate::server::{known_devices, secret::Secret, tokens::Issued};
use http::HeaderMap;
use tower_cookies::{cookie::{time::Duration, SameSite}, Cookie, Cookies};

/// The "flash" of a plain form's action (see the module).
pub const DONE_COOKIE: &str = "gh_done";

/// The path the refresh cookie is scoped to; the browser refresh and sign-out live under it.
pub const REFRESH_PATH: &str = "/auth";
/// The one call the sign-in challenge cookie is sent to.
pub const CHALLENGE_PATH: &str = "/fn/second-factor";

#[derive(Debug, Clone)]
pub struct CookieSettings {
    pub secure: bool,
    pub access_name: &'static str,
    pub refresh_name: &'static str,
    pub device_name: &'static str,
    pub challenge_name: &'static str,
    /// `GATEHOUSE_COOKIE_DOMAIN`: the access and refresh cookies are shared by its hosts.
    pub domain: Option<String>,
}

impl CookieSettings {
    pub fn new(secure: bool) -> Self {
        if secure {
            CookieSettings {
                secure,
                access_name: "__Host-gh_access",
                refresh_name: "__Secure-gh_refresh",
                device_name: "__Host-gh_device",
                challenge_name: "__Secure-gh_challenge",
                domain: None,
            }
        } else {
            CookieSettings {
                secure,
                access_name: "gh_access",
                refresh_name: "gh_refresh",
                device_name: "gh_device",
                challenge_name: "gh_challenge",
                domain: None,
            }
        }
    }

    /// Cookies shared by every host under `domain` (see the module's docs).
    pub fn with_domain(secure: bool, domain: Option<String>) -> Self {
        let Some(domain) = domain else { return CookieSettings::new(secure) };
        let (access_name, refresh_name) = if secure {
            ("__Secure-gh_shared_access", "__Secure-gh_shared_refresh")
        } else {
            ("gh_shared_access", "gh_shared_refresh")
        };
        CookieSettings { access_name, refresh_name, domain: Some(domain), ..CookieSettings::new(secure) }
    }

    /// Where the refresh cookie is sent: the auth endpoints, or everywhere on a family of hosts.
    fn refresh_path(&self) -> &'static str {
        if self.domain.is_some() { "/" } else { REFRESH_PATH }
    }

    fn scoped<'c>(&self, cookie: tower_cookies::cookie::CookieBuilder<'c>) -> tower_cookies::cookie::CookieBuilder<'c> {
        match &self.domain {
            Some(domain) => cookie.domain(domain.clone()),
            None => cookie,
        }
    }

    /// The access and refresh cookies holding a freshly issued pair.
    pub fn token_cookies(&self, issued: &Issued, now: i64) -> [Cookie<'static>; 2] {
        let lifetime = Duration::seconds((issued.refresh_expires_at - now).max(0));
        // The access cookie lives as long as the session may, so an expired token still tells
        // us "this browser was signed in" and we refresh instead of showing the login page.
        let access = Cookie::build((self.access_name, issued.access_token.expose().to_owned()))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(lifetime);
        let refresh = Cookie::build((self.refresh_name, issued.refresh_token.expose().to_owned()))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Strict)
            .path(self.refresh_path())
            .max_age(lifetime);
        [self.scoped(access).build(), self.scoped(refresh).build()]
    }

    /// The two cookies that remove the pair.
    pub fn cleared_cookies(&self) -> [Cookie<'static>; 2] {
        [(self.access_name, "/"), (self.refresh_name, self.refresh_path())].map(|(name, path)| {
            let gone = Cookie::build((name, "")).http_only(true).secure(self.secure).path(path).max_age(Duration::ZERO);
            self.scoped(gone).build()
        })
    }

    /// Puts a freshly issued pair (and, after a sign-in, the device token) into the browser.
    pub fn set_tokens(&self, cookies: &Cookies, issued: &Issued, now: i64) {
        for cookie in self.token_cookies(issued, now) {
            cookies.add(cookie);
        }
        if let Some(device) = &issued.device_token {
            let device = Cookie::build((self.device_name, device.expose().to_owned()))
                .http_only(true)
                .secure(self.secure)
                .same_site(SameSite::Strict)
                .path("/")
                .max_age(Duration::seconds(known_devices::FORGET_AFTER_SECS));
            cookies.add(device.build());
        }
    }

    /// Removes both cookies.
    pub fn clear(&self, cookies: &Cookies) {
        for gone in self.cleared_cookies() {
            cookies.add(gone);
        }
    }

    /// Replaces the access token alone (after "Confirm it's you"); the cookie lives until
    /// `until` (unix seconds), the session's end.
    pub fn set_access(&self, cookies: &Cookies, token: &Secret, until: i64, now: i64) {
        let access = Cookie::build((self.access_name, token.expose().to_owned()))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(Duration::seconds((until - now).max(0)));
        cookies.add(self.scoped(access).build());
    }

    /// After a plain form's action: `done` (a word the page knows) for the page at `path`.
    pub fn set_done(&self, cookies: &Cookies, path: &'static str, done: &'static str) {
        let cookie = Cookie::build((DONE_COOKIE, done))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Strict)
            .path(path)
            .max_age(Duration::seconds(60));
        cookies.add(cookie.build());
    }

    /// The cookie that removes a done cookie (the page that read it sends it).
    pub fn done_cleared(&self, path: &'static str) -> Cookie<'static> {
        Cookie::build((DONE_COOKIE, "")).http_only(true).secure(self.secure).same_site(SameSite::Strict).path(path).max_age(Duration::ZERO).build()
    }

    /// Keeps a sign-in challenge in the browser until its code is entered.
    pub fn set_challenge(&self, cookies: &Cookies, challenge: &Secret) {
        let cookie = Cookie::build((self.challenge_name, challenge.expose().to_owned()))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Strict)
            .path(CHALLENGE_PATH)
            .max_age(Duration::seconds(crate::server::tokens::challenge::LIFETIME_SECS));
        cookies.add(cookie.build());
    }

    pub fn challenge(&self, cookies: &Cookies) -> Option<Secret> {
        cookies.get(self.challenge_name).map(|c| Secret::new(c.value()))
    }

    pub fn clear_challenge(&self, cookies: &Cookies) {
        let gone = Cookie::build((self.challenge_name, "")).http_only(true).secure(self.secure).path(CHALLENGE_PATH).max_age(Duration::ZERO);
        cookies.add(gone.build());
    }

    /// The refresh cookie straight from request headers.
    pub fn refresh_token_from_headers(&self, headers: &HeaderMap) -> Option<Secret> {
        cookie_from_headers(headers, self.refresh_name)
    }

    pub fn refresh_token(&self, cookies: &Cookies) -> Option<Secret> {
        cookies.get(self.refresh_name).map(|c| Secret::new(c.value()))
    }

    pub fn access_token(&self, cookies: &Cookies) -> Option<Secret> {
        cookies.get(self.access_name).map(|c| Secret::new(c.value()))
    }

    /// The device cookie from request headers, if it holds something shaped like a device token.
    pub fn device_token_from_headers(&self, headers: &HeaderMap) -> Option<Secret> {
        cookie_from_headers(headers, self.device_name).and_then(|token| known_devices::parse(token.expose()))
    }

    /// The access cookie straight from request headers (no cookie layer needed).
    pub fn access_token_from_headers(&self, headers: &HeaderMap) -> Option<Secret> {
        cookie_from_headers(headers, self.access_name)
    }

    /// [`Self::access_token_from_headers`] without a copy: the value where it stands in the
    /// headers, for checking it on the spot.
    pub fn access_token_in_headers<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        cookie_in_headers(headers, self.access_name)
    }
}

/// One cookie's value from the `Cookie` request headers.
pub fn cookie_from_headers(headers: &HeaderMap, name: &str) -> Option<Secret> {
    cookie_in_headers(headers, name).map(Secret::new)
}

/// One cookie's value where it stands in the `Cookie` request headers.
pub fn cookie_in_headers<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}
