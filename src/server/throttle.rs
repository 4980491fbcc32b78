//! Throttling without lockout (ssr only).
//!
//! Two mechanisms:
//! - **Request rates per client address** for sign-in, registration and refresh, with the
//!   `governor` crate (GCRA): a client over its rate gets 429 and `Retry-After`; other
//!   clients are unaffected.
//! - **Growing delays after failed sign-ins**, per account and per client address: the first
//!   few failures are free, then each further failure doubles the wait before the next try
//!   (1 s, 2 s, 4 s …), capped. The cap is what keeps it from being a lockout an attacker
//!   could inflict: an account's owner waits at most [`ACCOUNT_CAP_SECS`] however many
//!   guesses arrive, while a guessing client address is slowed down far more
//!   ([`ADDRESS_CAP_SECS`]). A success clears that account's and that address's record;
//!   records are forgotten an hour after the last failure.
//!
//! State is per instance (see README: with N instances an attacker gets at most N times
//! the rate).

use governor::{clock::{Clock, DefaultClock}, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{collections::HashMap, net::IpAddr, num::NonZeroU32, sync::Mutex};

pub const ACCOUNT_FREE_FAILURES: u32 = 5;
pub const ACCOUNT_CAP_SECS: i64 = 60;
pub const ADDRESS_FREE_FAILURES: u32 = 20;
pub const ADDRESS_CAP_SECS: i64 = 15 * 60;
const FORGET_AFTER_SECS: i64 = 3600;
const MAX_TRACKED: usize = 100_000;

/// Requests per minute per client address; 0 switches a limit off.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub login_per_minute: u32,
    pub register_per_minute: u32,
    pub refresh_per_minute: u32,
    /// Growing delays after failed sign-ins (on by default; off only for load tests and
    /// fuzzing, where one address fails thousands of times on purpose).
    pub failed_sign_in_delays: bool,
}

pub struct Throttle {
    login: Option<DefaultKeyedRateLimiter<IpAddr>>,
    register: Option<DefaultKeyedRateLimiter<IpAddr>>,
    refresh: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// The strength meter asks as people type: generous, but bounded.
    strength: Option<DefaultKeyedRateLimiter<IpAddr>>,
    accounts: Backoff,
    addresses: Backoff,
}

/// Which endpoint a request-rate check is for.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    Login,
    Register,
    Refresh,
    Strength,
}

/// Strength-meter questions per minute per client address.
pub const STRENGTH_PER_MINUTE: u32 = 300;

impl Throttle {
    pub fn new(rates: Rates) -> Self {
        let limiter = |per_minute: u32| {
            NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)))
        };
        Throttle {
            login: limiter(rates.login_per_minute),
            register: limiter(rates.register_per_minute),
            refresh: limiter(rates.refresh_per_minute),
            strength: limiter(STRENGTH_PER_MINUTE),
            accounts: Backoff::new(if rates.failed_sign_in_delays { ACCOUNT_FREE_FAILURES } else { u32::MAX }, ACCOUNT_CAP_SECS),
            addresses: Backoff::new(if rates.failed_sign_in_delays { ADDRESS_FREE_FAILURES } else { u32::MAX }, ADDRESS_CAP_SECS),
        }
    }

    /// Counts one request; `Err(seconds)` when this address must wait.
    pub fn request(&self, endpoint: Endpoint, ip: Option<IpAddr>) -> Result<(), u64> {
        let limiter = match endpoint {
            Endpoint::Login => &self.login,
            Endpoint::Register => &self.register,
            Endpoint::Refresh => &self.refresh,
            Endpoint::Strength => &self.strength,
        };
        match (limiter, ip) {
            (Some(limiter), Some(ip)) => limiter.check_key(&ip).map_err(|not_until| {
                not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1)
            }),
            _ => Ok(()),
        }
    }

    /// Before checking a password: `Err(seconds)` while the account or address must wait.
    pub fn before_sign_in(&self, account: &str, ip: Option<IpAddr>, now: i64) -> Result<(), u64> {
        let a = self.accounts.wait(account, now);
        let b = ip.map(|ip| self.addresses.wait(&ip.to_string(), now)).unwrap_or(0);
        match a.max(b) {
            0 => Ok(()),
            secs => Err(secs as u64),
        }
    }

    pub fn sign_in_failed(&self, account: &str, ip: Option<IpAddr>, now: i64) {
        self.accounts.fail(account, now);
        if let Some(ip) = ip {
            self.addresses.fail(&ip.to_string(), now);
        }
    }

    pub fn sign_in_succeeded(&self, account: &str, ip: Option<IpAddr>) {
        self.accounts.clear(account);
        if let Some(ip) = ip {
            self.addresses.clear(&ip.to_string());
        }
    }

    /// Drops state nobody needs any more (called periodically).
    pub fn prune(&self, now: i64) {
        for limiter in [&self.login, &self.register, &self.refresh, &self.strength].into_iter().flatten() {
            limiter.retain_recent();
        }
        self.accounts.prune(now);
        self.addresses.prune(now);
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: i64,
    blocked_until: i64,
}

/// Failure counts with exponentially growing, capped waits.
struct Backoff {
    entries: Mutex<HashMap<String, Entry>>,
    free: u32,
    cap_secs: i64,
}

impl Backoff {
    fn new(free: u32, cap_secs: i64) -> Self {
        Backoff { entries: Mutex::new(HashMap::new()), free, cap_secs }
    }

    fn wait(&self, key: &str, now: i64) -> i64 {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).map(|e| (e.blocked_until - now).max(0)).unwrap_or(0)
    }

    fn fail(&self, key: &str, now: i64) {
        if self.free == u32::MAX {
            return;
        }
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_TRACKED && !map.contains_key(key) {
            map.retain(|_, e| e.last_failure + FORGET_AFTER_SECS > now);
            if map.len() >= MAX_TRACKED {
                return;
            }
        }
        let entry = map.entry(key.to_owned()).or_insert(Entry { failures: 0, last_failure: now, blocked_until: 0 });
        if entry.last_failure + FORGET_AFTER_SECS <= now {
            *entry = Entry { failures: 0, last_failure: now, blocked_until: 0 };
        }
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures > self.free {
            let doublings = (entry.failures - self.free - 1).min(30);
            entry.blocked_until = now + (1i64 << doublings).min(self.cap_secs);
        }
    }

    fn clear(&self, key: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    fn prune(&self, now: i64) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, e| e.last_failure + FORGET_AFTER_SECS > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(Rates { login_per_minute: 0, register_per_minute: 0, refresh_per_minute: 0, failed_sign_in_delays: true })
    }

    const T: i64 = 1_000_000;

    #[test]
    fn failures_beyond_the_free_ones_bring_doubling_waits_capped_for_the_account() {
        let t = throttle();
        let ip: Option<IpAddr> = None;
        for _ in 0..ACCOUNT_FREE_FAILURES {
            assert_eq!(t.before_sign_in("a@b.co", ip, T), Ok(()));
            t.sign_in_failed("a@b.co", ip, T);
        }
        assert_eq!(t.before_sign_in("a@b.co", ip, T), Ok(()));
        t.sign_in_failed("a@b.co", ip, T);
        assert_eq!(t.before_sign_in("a@b.co", ip, T), Err(1));
        t.sign_in_failed("a@b.co", ip, T + 1);
        assert_eq!(t.before_sign_in("a@b.co", ip, T + 1), Err(2));
        for i in 0..40 {
            t.sign_in_failed("a@b.co", ip, T + 2 + i);
        }
        // Never more than the cap, however many failures: no lockout.
        assert_eq!(t.before_sign_in("a@b.co", ip, T + 41), Err(ACCOUNT_CAP_SECS as u64));
        assert_eq!(t.before_sign_in("a@b.co", ip, T + 41 + ACCOUNT_CAP_SECS), Ok(()));
    }

    #[test]
    fn one_abusive_address_does_not_slow_down_another() {
        let t = throttle();
        let bad: Option<IpAddr> = Some("10.0.0.1".parse().unwrap());
        let good: Option<IpAddr> = Some("10.0.0.2".parse().unwrap());
        for i in 0..(ADDRESS_FREE_FAILURES + 3) {
            t.sign_in_failed(&format!("victim{i}@b.co"), bad, T);
        }
        assert!(t.before_sign_in("someone@b.co", bad, T).is_err());
        assert_eq!(t.before_sign_in("someone@b.co", good, T), Ok(()));
    }

    #[test]
    fn a_success_clears_the_record_and_old_failures_are_forgotten() {
        let t = throttle();
        for _ in 0..(ACCOUNT_FREE_FAILURES + 2) {
            t.sign_in_failed("a@b.co", None, T);
        }
        assert!(t.before_sign_in("a@b.co", None, T).is_err());
        t.sign_in_succeeded("a@b.co", None);
        assert_eq!(t.before_sign_in("a@b.co", None, T), Ok(()));
        for _ in 0..(ACCOUNT_FREE_FAILURES + 2) {
            t.sign_in_failed("x@b.co", None, T);
        }
        t.sign_in_failed("x@b.co", None, T + FORGET_AFTER_SECS + 1);
        assert_eq!(t.before_sign_in("x@b.co", None, T + FORGET_AFTER_SECS + 1), Ok(()));
    }

    #[test]
    fn request_rates_are_per_address() {
        let t = Throttle::new(Rates { login_per_minute: 3, register_per_minute: 0, refresh_per_minute: 0, failed_sign_in_delays: true });
        let a = Some("10.0.0.1".parse().unwrap());
        let b = Some("10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert!(t.request(Endpoint::Login, a).is_ok());
        }
        let wait = t.request(Endpoint::Login, a).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(t.request(Endpoint::Login, b).is_ok());
        assert!(t.request(Endpoint::Register, a).is_ok(), "a limit set to 0 is off");
    }
}

#[cfg(test)]
mod switched_off {
    use super::*;

    #[test]
    fn with_delays_switched_off_failures_never_throttle() {
        let t = Throttle::new(Rates { login_per_minute: 0, register_per_minute: 0, refresh_per_minute: 0, failed_sign_in_delays: false });
        for _ in 0..100 {
            t.sign_in_failed("a@b.co", None, 1);
        }
        assert_eq!(t.before_sign_in("a@b.co", None, 1), Ok(()));
    }
}
