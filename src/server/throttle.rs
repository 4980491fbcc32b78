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
//! The request rates are per instance (in memory; with N instances behind a round-robin
//! balancer a client reaches up to N times the rate — docs/operations.md shows how to keep
//! them exact). The failure records live in the database (`sign_in_failures`), so every
//! instance counts the same failures and a restart forgets none: spreading guesses over
//! several instances gains an attacker nothing. Each sign-in pays one indexed read for it
//! (next to ~30 ms of argon2id), each failure one upsert.

use crate::{
    server::db::Db,
    with_db,
};
use governor::{clock::{Clock, DefaultClock}, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{net::IpAddr, num::NonZeroU32};

pub const ACCOUNT_FREE_FAILURES: u32 = 5;
pub const ACCOUNT_CAP_SECS: i64 = 60;
pub const ADDRESS_FREE_FAILURES: u32 = 20;
pub const ADDRESS_CAP_SECS: i64 = 15 * 60;
const FORGET_AFTER_SECS: i64 = 3600;

/// Requests per minute per client address; 0 switches a limit off.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub login_per_minute: u32,
    pub register_per_minute: u32,
    pub refresh_per_minute: u32,
    /// "Forgot password?" requests and reset links used, per client address.
    pub recovery_per_minute: u32,
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
    /// "Forgot password?" and the reset link.
    recovery: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Where failed sign-ins are counted; None when the delays are switched off.
    failures: Option<Db>,
}

/// What [`Throttle::before_sign_in`] found, for [`Throttle::sign_in_succeeded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRecord {
    /// Earlier failures are on record for this account or address.
    pub exists: bool,
}

/// Which endpoint a request-rate check is for.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    Login,
    Register,
    Refresh,
    Strength,
    Recovery,
}

/// Strength-meter questions per minute per client address.
pub const STRENGTH_PER_MINUTE: u32 = 300;

impl Throttle {
    /// `db`: where failed sign-ins are counted (shared by every instance).
    pub fn new(rates: Rates, db: Db) -> Self {
        let limiter = |per_minute: u32| {
            NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)))
        };
        Throttle {
            login: limiter(rates.login_per_minute),
            register: limiter(rates.register_per_minute),
            refresh: limiter(rates.refresh_per_minute),
            strength: limiter(STRENGTH_PER_MINUTE),
            recovery: limiter(rates.recovery_per_minute),
            failures: rates.failed_sign_in_delays.then_some(db),
        }
    }

    /// Counts one request; `Err(seconds)` when this address must wait.
    pub fn request(&self, endpoint: Endpoint, ip: Option<IpAddr>) -> Result<(), u64> {
        let limiter = match endpoint {
            Endpoint::Login => &self.login,
            Endpoint::Register => &self.register,
            Endpoint::Refresh => &self.refresh,
            Endpoint::Strength => &self.strength,
            Endpoint::Recovery => &self.recovery,
        };
        match (limiter, ip) {
            (Some(limiter), Some(ip)) => limiter.check_key(&ip).map_err(|not_until| {
                not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1)
            }),
            _ => Ok(()),
        }
    }

    /// Before checking a password: `Err(Wait(seconds))` while the account or the address
    /// must wait.
    pub async fn before_sign_in(&self, account: &str, ip: Option<IpAddr>, now: i64) -> Result<FailureRecord, ThrottleError> {
        let Some(db) = &self.failures else { return Ok(FailureRecord { exists: false }) };
        let (account, address) = subjects(account, ip);
        let (rows, blocked_until): (i64, Option<i64>) = with_db!(db.read(), |pool| {
            sqlx::query_as("select count(*), max(blocked_until) from sign_in_failures where subject in ($1, $2)")
                .bind(&account)
                .bind(&address)
                .fetch_one(pool)
                .await
        })?;
        match blocked_until.unwrap_or(0) - now {
            wait if wait > 0 => Err(ThrottleError::Wait(wait as u64)),
            _ => Ok(FailureRecord { exists: rows > 0 }),
        }
    }

    /// Records a failed sign-in against the account and the address.
    pub async fn sign_in_failed(&self, account: &str, ip: Option<IpAddr>, now: i64) -> Result<(), sqlx::Error> {
        let Some(db) = &self.failures else { return Ok(()) };
        let (account, address) = subjects(account, ip);
        record_failure(db, &account, ACCOUNT_FREE_FAILURES, ACCOUNT_CAP_SECS, now).await?;
        if ip.is_some() {
            record_failure(db, &address, ADDRESS_FREE_FAILURES, ADDRESS_CAP_SECS, now).await?;
        }
        Ok(())
    }

    /// A success clears the account's and the address's records.
    pub async fn sign_in_succeeded(&self, account: &str, ip: Option<IpAddr>, seen: FailureRecord) -> Result<(), sqlx::Error> {
        let Some(db) = &self.failures else { return Ok(()) };
        if !seen.exists {
            return Ok(());
        }
        let (account, address) = subjects(account, ip);
        with_db!(db.write(), |pool| {
            sqlx::query("delete from sign_in_failures where subject in ($1, $2)")
                .bind(&account)
                .bind(&address)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(())
    }

    /// Drops state nobody needs any more (called periodically).
    pub async fn prune(&self, now: i64) -> Result<(), sqlx::Error> {
        for limiter in [&self.login, &self.register, &self.refresh, &self.strength].into_iter().flatten() {
            limiter.retain_recent();
        }
        if let Some(db) = &self.failures {
            with_db!(db.write(), |pool| {
                sqlx::query("delete from sign_in_failures where last_failed_at <= $1")
                    .bind(now - FORGET_AFTER_SECS)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected())
            })?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    #[error("wait {0} s")]
    Wait(u64),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The record keys: `account:<email>` and `address:<ip>` (`address:` alone when unknown,
/// which matches no record since none is ever written for it).
fn subjects(account: &str, ip: Option<IpAddr>) -> (String, String) {
    (format!("account:{account}"), ip.map(|ip| format!("address:{ip}")).unwrap_or_else(|| "address:".into()))
}

/// Counts one failure (a failure an hour after the previous one starts again at 1) and
/// sets how long the subject must wait.
async fn record_failure(db: &Db, subject: &str, free: u32, cap_secs: i64, now: i64) -> Result<(), sqlx::Error> {
    with_db!(db.write(), |pool| {
        let mut tx = pool.begin().await?;
        let failures: i64 = sqlx::query_scalar(
            "insert into sign_in_failures (subject, failures, last_failed_at, blocked_until) values ($1, 1, $2, 0)
             on conflict (subject) do update set
               failures = case when sign_in_failures.last_failed_at <= $3 then 1 else sign_in_failures.failures + 1 end,
               last_failed_at = $2
             returning failures",
        )
        .bind(subject)
        .bind(now)
        .bind(now - FORGET_AFTER_SECS)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(until) = blocked_until(failures, free, cap_secs, now) {
            sqlx::query("update sign_in_failures set blocked_until = $1 where subject = $2")
                .bind(until)
                .bind(subject)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })
}

/// After `failures` failures (the first `free` cost nothing): 1 s, 2 s, 4 s … up to the cap.
fn blocked_until(failures: i64, free: u32, cap_secs: i64, now: i64) -> Option<i64> {
    let beyond = failures - i64::from(free);
    (beyond > 0).then(|| now + (1i64 << (beyond - 1).min(30)).min(cap_secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db;

    async fn throttle(rates: Rates) -> (Throttle, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()), db::PoolSize::default()).await.unwrap();
        db::migrate(&db).await.unwrap();
        (Throttle::new(rates, db), dir)
    }

    fn delays_only() -> Rates {
        Rates { login_per_minute: 0, register_per_minute: 0, refresh_per_minute: 0, recovery_per_minute: 0, failed_sign_in_delays: true }
    }

    const T: i64 = 1_000_000;

    async fn wait(t: &Throttle, account: &str, ip: Option<IpAddr>, now: i64) -> Option<u64> {
        match t.before_sign_in(account, ip, now).await {
            Ok(_) => None,
            Err(ThrottleError::Wait(secs)) => Some(secs),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_wait_doubles_beyond_the_free_failures_and_stops_at_the_cap() {
        assert_eq!(blocked_until(5, 5, 60, T), None);
        assert_eq!(blocked_until(6, 5, 60, T), Some(T + 1));
        assert_eq!(blocked_until(7, 5, 60, T), Some(T + 2));
        assert_eq!(blocked_until(10, 5, 60, T), Some(T + 16));
        assert_eq!(blocked_until(12, 5, 60, T), Some(T + 60));
        assert_eq!(blocked_until(10_000, 5, 60, T), Some(T + 60));
    }

    #[tokio::test]
    async fn failures_beyond_the_free_ones_bring_doubling_waits_capped_for_the_account() {
        let (t, _d) = throttle(delays_only()).await;
        let ip: Option<IpAddr> = None;
        for _ in 0..ACCOUNT_FREE_FAILURES {
            assert_eq!(wait(&t, "a@b.co", ip, T).await, None);
            t.sign_in_failed("a@b.co", ip, T).await.unwrap();
        }
        assert_eq!(wait(&t, "a@b.co", ip, T).await, None);
        t.sign_in_failed("a@b.co", ip, T).await.unwrap();
        assert_eq!(wait(&t, "a@b.co", ip, T).await, Some(1));
        t.sign_in_failed("a@b.co", ip, T + 1).await.unwrap();
        assert_eq!(wait(&t, "a@b.co", ip, T + 1).await, Some(2));
        for i in 0..40 {
            t.sign_in_failed("a@b.co", ip, T + 2 + i).await.unwrap();
        }
        // Never more than the cap, however many failures: no lockout.
        assert_eq!(wait(&t, "a@b.co", ip, T + 41).await, Some(ACCOUNT_CAP_SECS as u64));
        assert_eq!(wait(&t, "a@b.co", ip, T + 41 + ACCOUNT_CAP_SECS).await, None);
    }

    #[tokio::test]
    async fn one_abusive_address_does_not_slow_down_another() {
        let (t, _d) = throttle(delays_only()).await;
        let bad: Option<IpAddr> = Some("10.0.0.1".parse().unwrap());
        let good: Option<IpAddr> = Some("10.0.0.2".parse().unwrap());
        for i in 0..(ADDRESS_FREE_FAILURES + 3) {
            t.sign_in_failed(&format!("victim{i}@b.co"), bad, T).await.unwrap();
        }
        assert!(wait(&t, "someone@b.co", bad, T).await.is_some());
        assert_eq!(wait(&t, "someone@b.co", good, T).await, None);
    }

    #[tokio::test]
    async fn a_success_clears_the_record_and_old_failures_are_forgotten() {
        let (t, _d) = throttle(delays_only()).await;
        for _ in 0..(ACCOUNT_FREE_FAILURES + 2) {
            t.sign_in_failed("a@b.co", None, T).await.unwrap();
        }
        assert!(wait(&t, "a@b.co", None, T).await.is_some());
        t.sign_in_succeeded("a@b.co", None, FailureRecord { exists: true }).await.unwrap();
        assert_eq!(wait(&t, "a@b.co", None, T).await, None);
        for _ in 0..(ACCOUNT_FREE_FAILURES + 2) {
            t.sign_in_failed("x@b.co", None, T).await.unwrap();
        }
        t.sign_in_failed("x@b.co", None, T + FORGET_AFTER_SECS + 1).await.unwrap();
        assert_eq!(wait(&t, "x@b.co", None, T + FORGET_AFTER_SECS + 1).await, None);
        // Pruning removes what is forgotten and keeps what is not.
        t.prune(T + FORGET_AFTER_SECS + 1).await.unwrap();
        let Some(db) = &t.failures else { unreachable!() };
        let left: Vec<String> = with_db!(db.read(), |pool| {
            sqlx::query_scalar("select subject from sign_in_failures").fetch_all(pool).await
        })
        .unwrap();
        assert_eq!(left, vec!["account:x@b.co".to_string()]);
    }

    #[tokio::test]
    async fn request_rates_are_per_address() {
        let (t, _d) = throttle(Rates { login_per_minute: 3, ..delays_only() }).await;
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

    #[tokio::test]
    async fn with_delays_switched_off_failures_never_throttle() {
        let (t, _d) = throttle(Rates { failed_sign_in_delays: false, ..delays_only() }).await;
        for _ in 0..100 {
            t.sign_in_failed("a@b.co", None, 1).await.unwrap();
        }
        assert_eq!(wait(&t, "a@b.co", None, 1).await, None);
    }
}
