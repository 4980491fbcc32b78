//! Throttling without lockout (ssr only).
//!
//! Two mechanisms:
//! - **Request rates per client address** for sign-in, registration and refresh, with the
//!   `governor` crate (GCRA): a client over its rate gets 429 and `Retry-After`; other
//!   clients are unaffected.
//! - **Failed checks of a secret**: the password at sign-in, the current password when
//!   changing it — and every later check of a secret (reset links, codes): give it a
//!   [`SecretCheck`] and call [`Throttle::admit`] before the check and
//!   [`Throttle::succeeded`] after a right answer. Each kind keeps its own records.
//!
//! Who tries is judged as precisely as the request allows, so that an attacker's failures
//! slow down the attacker and never lock the owner out:
//! - A **known device** — its device token signed in to this account before
//!   (`known_devices.rs`, OWASP's device cookies) — is judged on its own failures only:
//!   failures from anywhere else never slow it down or refuse it. After
//!   [`KNOWN_DEVICE_FREE_FAILURES`] failures of its own (a stolen token, or the owner
//!   mistyping) it is an unknown device like any other until it signs in again.
//! - Anyone else is counted three ways:
//!   - per account **and client** — its session when the check happens inside one, else its
//!     address: [`PER_CLIENT`] free failures, then 1 s, 2 s, 4 s … up to a minute, during
//!     which that client is refused (429). It is the attacker's own client that waits.
//!   - per **client address**, across accounts (credential stuffing): [`PER_ADDRESS`] free,
//!     then doubling up to 15 minutes, refused while it lasts. IPv6 addresses count by their
//!     /64 (`client::CountedAddress`), so rotating inside one's own network gains nothing.
//!   - per **account**, all unknown clients together: after [`PER_ACCOUNT_FREE_FAILURES`] free
//!     failures each further attempt is **held** before its check — paced 1 s, 2 s, 4 s …
//!     apart, never more than the configured maximum — and then checked. Slowed, never
//!     refused: an owner on a new device gets in within that maximum, however long a
//!     guessing attack from rotating addresses goes on; the attacker gets no more than one
//!     guess per pace interval from each client it keeps busy.
//!
//! An attempt is counted as a failure when it is admitted, before the secret is checked, so
//! concurrent attempts (a flood of 50 at once) see each other; a right answer takes the count
//! back. A refused attempt counts nothing; one whose client hung up during its hold or check
//! stays counted (it was a guess all the same). Records are forgotten an hour after their last
//! failure; a success clears that client's record (never the address's or the account's:
//! signing in to one's own account must not reset a stuffing counter).
//!
//! The request rates are per instance (in memory; with N instances behind a round-robin
//! balancer a client reaches up to N times the rate — docs/operations.md shows how to keep
//! them exact). The failure records live in the database (`sign_in_failures`), so every
//! instance counts the same failures and a restart forgets none: spreading guesses over
//! several instances gains an attacker nothing. Admitting an attempt is one short
//! transaction (three upserts; a known device one), a success one more.

use crate::{
    error::AppError,
    server::{
        client::CountedAddress,
        db::{Db, Tx},
        known_devices,
        secret::Secret,
    },
    with_db, with_tx,
};
use governor::{clock::{Clock, DefaultClock}, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{net::IpAddr, num::NonZeroU32, time::Duration};

/// Free failures, then waits of 1 s, 2 s, 4 s … up to a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub free: i64,
    pub cap_secs: i64,
}

/// Per account and client (session or address): refused while the wait lasts.
pub const PER_CLIENT: Policy = Policy { free: 5, cap_secs: 60 };
/// Per client address, across accounts: refused while the wait lasts.
pub const PER_ADDRESS: Policy = Policy { free: 20, cap_secs: 15 * 60 };
/// Per account, every unknown client together: beyond these, attempts are held (paced).
pub const PER_ACCOUNT_FREE_FAILURES: i64 = 5;
/// A known device's own failures before it counts as unknown.
pub const KNOWN_DEVICE_FREE_FAILURES: i64 = 5;
/// The longest hold that may be configured: requests time out after 30 s, and the check
/// itself needs time after the hold.
pub const MAX_HOLD_LIMIT: Duration = Duration::from_secs(20);
const FORGET_AFTER_SECS: i64 = 3600;

/// Requests per minute per client address (0 switches a limit off), and the failure
/// counting.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub login_per_minute: u32,
    pub register_per_minute: u32,
    pub refresh_per_minute: u32,
    /// "Forgot password?" requests and reset links used, per client address.
    pub recovery_per_minute: u32,
    /// Failed checks of secrets are counted and slowed down (on by default; off only for
    /// load tests and fuzzing, where one address fails thousands of times on purpose).
    pub failed_sign_in_delays: bool,
    /// The longest an attempt from an unknown device is held while its account is being
    /// guessed at (at most [`MAX_HOLD_LIMIT`]; 0 holds nothing).
    pub unknown_device_max_hold: Duration,
}

pub struct Throttle {
    login: Option<DefaultKeyedRateLimiter<CountedAddress>>,
    register: Option<DefaultKeyedRateLimiter<CountedAddress>>,
    refresh: Option<DefaultKeyedRateLimiter<CountedAddress>>,
    /// The strength meter asks as people type: generous, but bounded.
    strength: Option<DefaultKeyedRateLimiter<CountedAddress>>,
    /// "Forgot password?" and the reset link.
    recovery: Option<DefaultKeyedRateLimiter<CountedAddress>>,
    /// Where failures and known devices are kept (shared by every instance).
    db: Db,
    failed_sign_in_delays: bool,
    max_hold_secs: i64,
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

/// Which secret is being checked. Each kind keeps its own failure records: guessing the
/// current password inside a session does not slow down anyone's sign-in, and the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretCheck {
    /// The password at sign-in.
    SignIn,
    /// The current password, asked again inside a session (to change the password).
    CurrentPassword,
    /// A code from the authenticator app or a recovery code: at sign-in after the password,
    /// or inside a session (switching two-step verification on).
    SecondFactor,
}

impl SecretCheck {
    /// The prefix of this kind's records.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretCheck::SignIn => "sign_in",
            SecretCheck::CurrentPassword => "current_password",
            SecretCheck::SecondFactor => "second_factor",
        }
    }
}

/// Who is trying a secret.
#[derive(Debug, Clone, Copy)]
pub struct Claimant<'a> {
    /// Whose secret: at sign-in the normalised email as typed (an account or not, alike);
    /// inside a session the user id.
    pub account: &'a str,
    pub ip: Option<IpAddr>,
    pub via: Via<'a>,
}

#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    /// Not signed in: the device token the client presented, if any. It makes the client a
    /// known device only when it signed in to the account of `account` (an email) before.
    SignIn { device_token: Option<&'a Secret> },
    /// Inside a session, which is then the client: a stolen access token counts against its
    /// own session wherever it is used from.
    Session(&'a str),
}

/// An attempt let through, already counted as a failure; hand it to
/// [`Throttle::succeeded`] when the secret was right.
#[derive(Debug)]
#[must_use]
pub struct Admitted {
    undo: Undo,
    /// Seconds it was held before its check (an unknown device on an account under attack).
    pub held_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Undo {
    Nothing,
    KnownDevice { device: String },
    /// `address`: with the wait this attempt set on it, if it set one.
    Unknown { client: String, address: Option<(String, Option<i64>)>, account: String },
}

impl Throttle {
    /// `db`: where failures are counted and devices known (shared by every instance).
    pub fn new(rates: Rates, db: Db) -> Self {
        let limiter = |per_minute: u32| {
            NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)))
        };
        let max_hold = rates.unknown_device_max_hold.min(MAX_HOLD_LIMIT).as_secs();
        Throttle {
            login: limiter(rates.login_per_minute),
            register: limiter(rates.register_per_minute),
            refresh: limiter(rates.refresh_per_minute),
            strength: limiter(STRENGTH_PER_MINUTE),
            recovery: limiter(rates.recovery_per_minute),
            db,
            failed_sign_in_delays: rates.failed_sign_in_delays,
            max_hold_secs: i64::try_from(max_hold).unwrap_or(0),
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
            (Some(limiter), Some(ip)) => limiter.check_key(&CountedAddress::of(ip)).map_err(|not_until| {
                not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1)
            }),
            _ => Ok(()),
        }
    }

    /// Before checking a secret: counts the attempt, holds it while its account is being
    /// guessed at from unknown clients, or refuses it (`Err(Wait(seconds))`) while this
    /// client or address must wait.
    pub async fn admit(&self, check: SecretCheck, claimant: &Claimant<'_>, now: i64) -> Result<Admitted, ThrottleError> {
        let admitted = self.count_attempt(check, claimant, now).await?;
        if admitted.held_secs > 0 {
            tracing::info!(check = check.as_str(), held_secs = admitted.held_secs, "attempt from an unknown device held: its account is being guessed at");
            tokio::time::sleep(Duration::from_secs(admitted.held_secs.unsigned_abs())).await;
        }
        Ok(admitted)
    }

    /// The secret was right: the attempt was no failure after all. Clears this client's
    /// record (a known device's, or the account-and-client one) and takes the attempt back
    /// from the address's and the account's counts.
    pub async fn succeeded(&self, admitted: Admitted, now: i64) -> Result<(), sqlx::Error> {
        match admitted.undo {
            Undo::Nothing => Ok(()),
            Undo::KnownDevice { device } => {
                let mut tx = self.db.begin().await?;
                forget(&mut tx, &device).await?;
                tx.commit().await
            }
            Undo::Unknown { client, address, account } => {
                // Same order as `count_attempt` (client, address, account): no deadlocks.
                let mut tx = self.db.begin().await?;
                forget(&mut tx, &client).await?;
                if let Some((address, armed)) = &address {
                    take_back_from_address(&mut tx, address, *armed).await?;
                }
                take_back_from_account(&mut tx, &account, now).await?;
                tx.commit().await
            }
        }
    }

    /// Counts the attempt and decides: refused, or admitted (with how long to hold it).
    async fn count_attempt(&self, check: SecretCheck, claimant: &Claimant<'_>, now: i64) -> Result<Admitted, ThrottleError> {
        if !self.failed_sign_in_delays {
            return Ok(Admitted { undo: Undo::Nothing, held_secs: 0 });
        }
        let kind = check.as_str();
        let known = match claimant.via {
            Via::SignIn { device_token: Some(token) } => known_devices::recognise(&self.db, token, claimant.account, now).await?,
            _ => None,
        };
        let address = claimant.ip.map(CountedAddress::of);
        let client = match (claimant.via, address) {
            (Via::Session(session), _) => format!("{kind}:client:{}:session:{session}", claimant.account),
            (_, Some(address)) => format!("{kind}:client:{}:address:{address}", claimant.account),
            (_, None) => format!("{kind}:client:{}:unknown", claimant.account),
        };
        let address = address.map(|address| format!("{kind}:address:{address}"));
        let account = format!("{kind}:account:{}", claimant.account);

        // Dropping `tx` without committing (a refusal, an error) counts nothing.
        let mut tx = self.db.begin().await?;
        if let Some(known) = known {
            let device = format!("{kind}:device:{}:{}", known.user_id, known.tag);
            let (failures, _) = count(&mut tx, &device, now).await?;
            if failures <= KNOWN_DEVICE_FREE_FAILURES {
                tx.commit().await?;
                return Ok(Admitted { undo: Undo::KnownDevice { device }, held_secs: 0 });
            }
            // Too many failures of its own: from here on, an unknown device.
        }
        let mut wait = 0;
        let mut armed = [None, None];
        for (i, (subject, policy)) in [(Some(&client), PER_CLIENT), (address.as_ref(), PER_ADDRESS)].into_iter().enumerate() {
            let Some(subject) = subject else { continue };
            let (failures, blocked_until) = count(&mut tx, subject, now).await?;
            if blocked_until > now {
                wait = wait.max(blocked_until - now);
            } else if let Some(until) = policy.blocked_until(failures, now) {
                set_blocked_until(&mut tx, subject, until).await?;
                armed[i] = Some(until);
            }
        }
        if wait > 0 {
            return Err(ThrottleError::Wait(wait.unsigned_abs()));
        }
        // The account's record paces unknown clients: `blocked_until` is the next free turn.
        let (failures, next_turn) = count(&mut tx, &account, now).await?;
        let mut held_secs = 0;
        if failures > PER_ACCOUNT_FREE_FAILURES {
            let turn = next_turn.max(now).min(now + self.max_hold_secs);
            held_secs = turn - now;
            let pace = doubling(failures - PER_ACCOUNT_FREE_FAILURES, self.max_hold_secs);
            set_blocked_until(&mut tx, &account, turn + pace).await?;
        }
        tx.commit().await?;
        let address = address.map(|address| (address, armed[1]));
        Ok(Admitted { undo: Undo::Unknown { client, address, account }, held_secs })
    }

    /// Drops state nobody needs any more (called periodically): request-rate entries,
    /// failure records an hour after their last failure, devices long unused.
    pub async fn prune(&self, now: i64) -> Result<(), sqlx::Error> {
        for limiter in [&self.login, &self.register, &self.refresh, &self.strength, &self.recovery].into_iter().flatten() {
            limiter.retain_recent();
        }
        with_db!(self.db.write(), |pool| {
            sqlx::query("delete from sign_in_failures where last_failed_at <= $1")
                .bind(now - FORGET_AFTER_SECS)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        known_devices::prune(&self.db, now).await?;
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

impl From<ThrottleError> for AppError {
    fn from(e: ThrottleError) -> Self {
        match e {
            ThrottleError::Wait(retry_after) => AppError::TooManyAttempts { retry_after },
            ThrottleError::Db(e) => e.into(),
        }
    }
}

impl Policy {
    /// After `failures` failures (the first `free` cost nothing): 1 s, 2 s, 4 s … up to the cap.
    fn blocked_until(self, failures: i64, now: i64) -> Option<i64> {
        let beyond = failures - self.free;
        (beyond > 0).then(|| now + doubling(beyond, self.cap_secs))
    }
}

/// 1, 2, 4 … for the 1st, 2nd, 3rd … failure beyond the free ones, up to `cap`.
fn doubling(beyond: i64, cap: i64) -> i64 {
    (1i64 << (beyond - 1).clamp(0, 30)).min(cap)
}

/// Counts one failure for `subject` (a failure an hour after the previous one starts again
/// at 1) and returns `(failures, blocked_until)` — the wait as it stood *before* this one.
/// The upsert takes the row's lock, so concurrent attempts on one subject count one by one.
async fn count(tx: &mut Tx, subject: &str, now: i64) -> Result<(i64, i64), sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query_as(
            "insert into sign_in_failures (subject, failures, last_failed_at, blocked_until) values ($1, 1, $2, 0)
             on conflict (subject) do update set
               failures = case when sign_in_failures.last_failed_at <= $3 then 1 else sign_in_failures.failures + 1 end,
               blocked_until = case when sign_in_failures.last_failed_at <= $3 then 0 else sign_in_failures.blocked_until end,
               last_failed_at = $2
             returning failures, blocked_until",
        )
        .bind(subject)
        .bind(now)
        .bind(now - FORGET_AFTER_SECS)
        .fetch_one(&mut *conn)
        .await
    })
}

async fn set_blocked_until(tx: &mut Tx, subject: &str, until: i64) -> Result<(), sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query("update sign_in_failures set blocked_until = $1 where subject = $2")
            .bind(until)
            .bind(subject)
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })
}

async fn forget(tx: &mut Tx, subject: &str) -> Result<(), sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query("delete from sign_in_failures where subject = $1").bind(subject).execute(&mut *conn).await.map(|_| ())
    })
}

/// One failure fewer for an address; the wait this attempt set (`armed`) is lifted, unless a
/// later failure has set another since. (Any wait before this attempt was over, or it would
/// have been refused.)
async fn take_back_from_address(tx: &mut Tx, subject: &str, armed: Option<i64>) -> Result<(), sqlx::Error> {
    if forget_if_that_was_all(tx, subject).await? {
        return Ok(());
    }
    with_tx!(tx, |conn| {
        sqlx::query(
            "update sign_in_failures set failures = failures - 1,
               blocked_until = case when blocked_until = $2 then 0 else blocked_until end
             where subject = $1",
        )
        .bind(subject)
        .bind(armed.unwrap_or(-1))
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })
}

/// One failure fewer for an account; the next unknown client need not wait for the turn
/// this attempt took.
async fn take_back_from_account(tx: &mut Tx, subject: &str, now: i64) -> Result<(), sqlx::Error> {
    if forget_if_that_was_all(tx, subject).await? {
        return Ok(());
    }
    with_tx!(tx, |conn| {
        sqlx::query(
            "update sign_in_failures set failures = failures - 1,
               blocked_until = case when blocked_until > $2 then $2 else blocked_until end
             where subject = $1",
        )
        .bind(subject)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })
}

/// Deletes the record when this attempt was its only count, so successful sign-ins leave
/// no rows behind; true when it did.
async fn forget_if_that_was_all(tx: &mut Tx, subject: &str) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query("delete from sign_in_failures where subject = $1 and failures <= 1")
            .bind(subject)
            .execute(&mut *conn)
            .await
            .map(|done| done.rows_affected() > 0)
    })
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
        Rates {
            login_per_minute: 0,
            register_per_minute: 0,
            refresh_per_minute: 0,
            recovery_per_minute: 0,
            failed_sign_in_delays: true,
            unknown_device_max_hold: Duration::from_secs(10),
        }
    }

    const T: i64 = 1_000_000;

    fn from<'a>(account: &'a str, ip: Option<&str>) -> Claimant<'a> {
        Claimant { account, ip: ip.map(|ip| ip.parse().unwrap()), via: Via::SignIn { device_token: None } }
    }

    /// One attempt that fails: `Ok(held seconds)` when admitted (and so counted), `Err(wait)`
    /// when refused.
    async fn fail(t: &Throttle, who: &Claimant<'_>, now: i64) -> Result<i64, u64> {
        fail_at(t, SecretCheck::SignIn, who, now).await
    }

    async fn fail_at(t: &Throttle, check: SecretCheck, who: &Claimant<'_>, now: i64) -> Result<i64, u64> {
        match t.count_attempt(check, who, now).await {
            Ok(admitted) => Ok(admitted.held_secs),
            Err(ThrottleError::Wait(secs)) => Err(secs),
            Err(e) => panic!("{e}"),
        }
    }

    async fn succeed(t: &Throttle, who: &Claimant<'_>, now: i64) {
        let admitted = t.count_attempt(SecretCheck::SignIn, who, now).await.unwrap();
        t.succeeded(admitted, now).await.unwrap();
    }

    async fn subjects(t: &Throttle) -> Vec<String> {
        with_db!(t.db.read(), |pool| {
            sqlx::query_scalar("select subject from sign_in_failures order by subject").fetch_all(pool).await
        })
        .unwrap()
    }

    #[test]
    fn the_wait_doubles_beyond_the_free_failures_and_stops_at_the_cap() {
        let p = Policy { free: 5, cap_secs: 60 };
        assert_eq!(p.blocked_until(5, T), None);
        assert_eq!(p.blocked_until(6, T), Some(T + 1));
        assert_eq!(p.blocked_until(7, T), Some(T + 2));
        assert_eq!(p.blocked_until(10, T), Some(T + 16));
        assert_eq!(p.blocked_until(12, T), Some(T + 60));
        assert_eq!(p.blocked_until(10_000, T), Some(T + 60));
    }

    #[tokio::test]
    async fn failures_beyond_the_free_ones_bring_doubling_waits_for_that_client_capped() {
        let (t, _d) = throttle(delays_only()).await;
        let me = from("a@b.co", Some("10.0.0.1"));
        for _ in 0..PER_CLIENT.free {
            assert_eq!(fail(&t, &me, T).await, Ok(0));
        }
        // The sixth is still checked, and starts the clock.
        assert_eq!(fail(&t, &me, T).await, Ok(0));
        assert_eq!(fail(&t, &me, T).await, Err(1));
        assert!(fail(&t, &me, T + 1).await.is_ok());
        assert_eq!(fail(&t, &me, T + 1).await, Err(2));
        // Failing again each time the wait is over: never more than the cap.
        let mut now = T + 3;
        for _ in 0..20 {
            match fail(&t, &me, now).await {
                Ok(_) => {}
                Err(wait) => {
                    assert!(wait as i64 <= PER_CLIENT.cap_secs, "{wait}");
                    now += wait as i64;
                }
            }
        }
        assert_eq!(fail(&t, &me, now).await.map(|_| ()), Ok(()));
        assert_eq!(fail(&t, &me, now).await, Err(PER_CLIENT.cap_secs as u64));
    }

    #[tokio::test]
    async fn one_abusive_address_does_not_slow_down_another() {
        let (t, _d) = throttle(delays_only()).await;
        for i in 0..PER_ADDRESS.free + 1 {
            assert!(fail(&t, &from(&format!("victim{i}@b.co"), Some("10.0.0.1")), T).await.is_ok());
        }
        assert_eq!(fail(&t, &from("someone@b.co", Some("10.0.0.1")), T).await, Err(1));
        assert_eq!(fail(&t, &from("someone@b.co", Some("10.0.0.2")), T).await, Ok(0));
    }

    #[tokio::test]
    async fn an_ipv6_client_rotating_inside_its_64_is_one_address_and_the_next_64_another() {
        let (t, _d) = throttle(delays_only()).await;
        for i in 0..PER_ADDRESS.free + 1 {
            let ip = format!("2001:db8:1:2::{:x}", i + 1);
            assert!(fail(&t, &from(&format!("victim{i}@b.co"), Some(&ip)), T).await.is_ok());
        }
        assert_eq!(fail(&t, &from("someone@b.co", Some("2001:db8:1:2:ffff::1")), T).await, Err(1));
        assert_eq!(fail(&t, &from("someone@b.co", Some("2001:db8:1:3::1")), T).await, Ok(0));
    }

    #[tokio::test]
    async fn a_success_clears_the_clients_record_and_old_failures_are_forgotten() {
        let (t, _d) = throttle(delays_only()).await;
        let me = from("a@b.co", None);
        for _ in 0..=PER_CLIENT.free {
            assert!(fail(&t, &me, T).await.is_ok());
        }
        assert!(fail(&t, &me, T).await.is_err());
        succeed(&t, &me, T + 1).await;
        assert_eq!(fail(&t, &me, T + 1).await.map(|_| ()), Ok(()), "the client's record is cleared");

        let other = from("x@b.co", None);
        for _ in 0..=PER_CLIENT.free {
            assert!(fail(&t, &other, T).await.is_ok());
        }
        assert!(fail(&t, &other, T).await.is_err());
        assert_eq!(fail(&t, &other, T + FORGET_AFTER_SECS + 1).await, Ok(0), "an hour later it starts again at 1");
        // Pruning removes what is forgotten and keeps what is not.
        t.prune(T + FORGET_AFTER_SECS + 1).await.unwrap();
        assert_eq!(subjects(&t).await, vec!["sign_in:account:x@b.co", "sign_in:client:x@b.co:unknown"]);
    }

    #[tokio::test]
    async fn a_success_takes_its_attempt_back_from_the_address_and_the_account_but_clears_neither() {
        let (t, _d) = throttle(delays_only()).await;
        // Many people signing in from one office address: their successes never add up.
        for i in 0..3 * PER_ADDRESS.free {
            succeed(&t, &from(&format!("colleague{i}@b.co"), Some("10.0.0.9")), T).await;
        }
        assert!(subjects(&t).await.is_empty(), "successes leave no records behind");
        assert_eq!(fail(&t, &from("typo@b.co", Some("10.0.0.9")), T).await, Ok(0));
        // A stuffer signing in to its own account now and then does not reset its address.
        for i in 0..PER_ADDRESS.free {
            assert!(fail(&t, &from(&format!("stuffed{i}@b.co"), Some("10.0.0.1")), T).await.is_ok());
        }
        succeed(&t, &from("stuffer@b.co", Some("10.0.0.1")), T).await;
        assert!(fail(&t, &from("stuffed-more@b.co", Some("10.0.0.1")), T).await.is_ok());
        assert_eq!(fail(&t, &from("stuffed-again@b.co", Some("10.0.0.1")), T).await, Err(1));
    }

    #[tokio::test]
    async fn failures_from_ever_new_addresses_hold_unknown_clients_of_that_account_but_never_refuse_them() {
        let (t, _d) = throttle(delays_only()).await;
        let max = 10;
        let mut holds = Vec::new();
        for i in 0..20 {
            // One guess a second, each from a new address: no client or address ever waits.
            let ip = format!("203.0.113.{}", i + 1);
            holds.push(fail(&t, &from("victim@b.co", Some(&ip)), T + i).await.expect("never refused"));
        }
        assert!(holds[..=PER_ACCOUNT_FREE_FAILURES as usize].iter().all(|h| *h == 0), "{holds:?}");
        assert!(holds.iter().all(|h| (0..=max).contains(h)), "never held longer than the maximum: {holds:?}");
        assert_eq!(holds.last(), Some(&max), "the pace has grown to the maximum: {holds:?}");
        // The owner on a new device and address is held as long, at most, and then checked.
        assert_eq!(fail(&t, &from("victim@b.co", Some("198.51.100.7")), T + 20).await.map(|h| h <= max), Ok(true));
        // Other accounts are not held.
        assert_eq!(fail(&t, &from("bystander@b.co", Some("203.0.113.1")), T + 20).await, Ok(0));
        // Concurrent attempts take successive turns, never beyond the maximum.
        let (a, b) = (fail(&t, &from("victim@b.co", Some("192.0.2.1")), T + 100).await, fail(&t, &from("victim@b.co", Some("192.0.2.2")), T + 100).await);
        assert_eq!((a, b), (Ok(0), Ok(max)));
    }

    #[tokio::test]
    async fn a_known_device_is_judged_on_its_own_failures_and_after_five_counts_as_unknown() {
        let (t, _d) = throttle(delays_only()).await;
        with_db!(t.db.write(), |pool| {
            sqlx::query("insert into users (id, email, display_name, password_hash, created_at) values ('u1', 'owner@b.co', 'x', 'x', 0)")
                .execute(pool)
                .await
                .map(|_| ())
        })
        .unwrap();
        let token = known_devices::remember(&t.db, "u1", "s1", None, T).await.unwrap();
        let device = Claimant { account: "owner@b.co", ip: Some("10.0.0.1".parse().unwrap()), via: Via::SignIn { device_token: Some(&token) } };
        // An attacker fails from the owner's own address (and many others) until everyone
        // unknown is held or refused there.
        for i in 0..30 {
            let _ = fail(&t, &from("owner@b.co", Some("10.0.0.1")), T).await;
            let _ = fail(&t, &from("owner@b.co", Some(&format!("203.0.113.{i}"))), T).await;
        }
        assert!(fail(&t, &from("owner@b.co", Some("10.0.0.1")), T).await.is_err());
        // The known device is neither held nor refused, however often the others fail.
        succeed(&t, &device, T).await;
        for _ in 0..KNOWN_DEVICE_FREE_FAILURES {
            assert_eq!(fail(&t, &device, T).await, Ok(0));
        }
        // Its own failures add up, though: now it is an unknown client, and this account's
        // record for its address makes it wait.
        assert!(fail(&t, &device, T).await.is_err());
        // Made-up or someone else's tokens make nobody known.
        let made_up = known_devices::generate();
        let stranger = Claimant { via: Via::SignIn { device_token: Some(&made_up) }, ..device };
        assert!(fail(&t, &stranger, T).await.is_err());
    }

    #[tokio::test]
    async fn concurrent_attempts_are_counted_before_their_check_so_a_flood_gets_the_free_ones_only() {
        let (t, _d) = throttle(delays_only()).await;
        let t = std::sync::Arc::new(t);
        let attempts = (0..30).map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                let who = Claimant { account: "u1", ip: Some("10.0.0.1".parse().unwrap()), via: Via::Session("s1") };
                fail_at(&t, SecretCheck::CurrentPassword, &who, T).await
            })
        });
        let results: Vec<_> = futures::future::join_all(attempts).await.into_iter().map(Result::unwrap).collect();
        let admitted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(admitted as i64, PER_CLIENT.free + 1, "{results:?}");
        assert!(results.iter().filter_map(|r| r.err()).all(|wait| wait == 1), "{results:?}");
    }

    #[tokio::test]
    async fn each_kind_of_secret_check_keeps_its_own_records() {
        let (t, _d) = throttle(delays_only()).await;
        let in_session = Claimant { account: "a@b.co", ip: Some("10.0.0.1".parse().unwrap()), via: Via::Session("s1") };
        for _ in 0..=PER_CLIENT.free {
            assert!(fail_at(&t, SecretCheck::CurrentPassword, &in_session, T).await.is_ok());
        }
        assert!(fail_at(&t, SecretCheck::CurrentPassword, &in_session, T).await.is_err());
        assert_eq!(fail(&t, &from("a@b.co", Some("10.0.0.1")), T).await, Ok(0));
        // Another session of the same account, from the same address, is another client.
        let other_session = Claimant { via: Via::Session("s2"), ..in_session };
        assert!(fail_at(&t, SecretCheck::CurrentPassword, &other_session, T).await.is_ok());
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
    async fn request_rates_count_an_ipv6_client_by_its_64() {
        let (t, _d) = throttle(Rates { login_per_minute: 3, ..delays_only() }).await;
        for i in 1..=3 {
            assert!(t.request(Endpoint::Login, Some(format!("2001:db8:1:2::{i}").parse().unwrap())).is_ok());
        }
        assert!(t.request(Endpoint::Login, Some("2001:db8:1:2:ffff::99".parse().unwrap())).is_err());
        assert!(t.request(Endpoint::Login, Some("2001:db8:1:3::1".parse().unwrap())).is_ok());
    }

    #[tokio::test]
    async fn with_delays_switched_off_failures_never_throttle() {
        let (t, _d) = throttle(Rates { failed_sign_in_delays: false, ..delays_only() }).await;
        for _ in 0..100 {
            assert_eq!(fail(&t, &from("a@b.co", None), 1).await, Ok(0));
        }
        assert!(subjects(&t).await.is_empty());
    }
}
