//! The security activity log (ssr only): sign-ins, password changes, sign-outs and theft
//! detection, recorded as they happen and told back in plain words.
//!
//! What can happen is typed: [`EventKind`] for what an event is, [`EndReason`] for why a
//! session ended (also stored in `sessions.revoked_reason`). Each has one `as_str`/`parse`
//! pair for the database's text values, and its wording lives in exhaustive matches, so a
//! new kind or reason does not compile until it says what it means to a person.

use crate::{
    model::SecurityEvent,
    server::{
        client::Client,
        clock::{ago, rfc3339},
        db::{Db, Tx},
        user_agent,
    },
    with_db, with_tx,
};

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    SignedIn,
    PasswordChanged,
    SessionRevoked,
    RefreshTokenReused,
    /// A new password set through a link from the account's mail.
    PasswordReset,
    /// The account's address was proven by following a link sent to it.
    EmailVerified,
    /// The account moved to a new address (`detail`), confirmed from that address.
    EmailChanged,
    TwoStepEnabled,
    TwoStepDisabled,
    RecoveryCodesRenewed,
    /// A recovery code stood in for the authenticator (`detail`: how many are left).
    RecoveryCodeUsed,
    /// A passkey was added (`detail`: its name).
    PasskeyAdded,
    /// A passkey was removed (`detail`: its name).
    PasskeyRemoved,
    /// A passkey's signature counter went back (`detail`: its name): the authenticator may
    /// have been cloned. The sign-in was refused.
    PasskeyCounterWentBack,
    /// An operator disabled the account (every session ended with it).
    AccountDisabled,
    /// An operator enabled the account again.
    AccountEnabled,
    /// An operator had a link to set a new password mailed to the account.
    ResetLinkSentByOperator,
    /// An operator removed the second factor of a person who lost it.
    SecondFactorRemovedByOperator,
}

impl EventKind {
    pub const ALL: [EventKind; 18] = [
        EventKind::SignedIn,
        EventKind::PasswordChanged,
        EventKind::SessionRevoked,
        EventKind::RefreshTokenReused,
        EventKind::PasswordReset,
        EventKind::EmailVerified,
        EventKind::EmailChanged,
        EventKind::TwoStepEnabled,
        EventKind::TwoStepDisabled,
        EventKind::RecoveryCodesRenewed,
        EventKind::RecoveryCodeUsed,
        EventKind::PasskeyAdded,
        EventKind::PasskeyRemoved,
        EventKind::PasskeyCounterWentBack,
        EventKind::AccountDisabled,
        EventKind::AccountEnabled,
        EventKind::ResetLinkSentByOperator,
        EventKind::SecondFactorRemovedByOperator,
    ];

    /// The stored text value.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SignedIn => "signed_in",
            EventKind::PasswordChanged => "password_changed",
            EventKind::SessionRevoked => "session_revoked",
            EventKind::RefreshTokenReused => "refresh_token_reused",
            EventKind::PasswordReset => "password_reset",
            EventKind::EmailVerified => "email_verified",
            EventKind::EmailChanged => "email_changed",
            EventKind::TwoStepEnabled => "two_step_enabled",
            EventKind::TwoStepDisabled => "two_step_disabled",
            EventKind::RecoveryCodesRenewed => "recovery_codes_renewed",
            EventKind::RecoveryCodeUsed => "recovery_code_used",
            EventKind::PasskeyAdded => "passkey_added",
            EventKind::PasskeyRemoved => "passkey_removed",
            EventKind::PasskeyCounterWentBack => "passkey_counter_went_back",
            EventKind::AccountDisabled => "account_disabled",
            EventKind::AccountEnabled => "account_enabled",
            EventKind::ResetLinkSentByOperator => "reset_link_sent_by_operator",
            EventKind::SecondFactorRemovedByOperator => "second_factor_removed_by_operator",
        }
    }

    pub fn parse(value: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The person signed this device out.
    SignedOut,
    /// Signed out from another of the person's devices (one device, or "all others").
    SignedOutElsewhere,
    /// "Sign out everywhere".
    SignedOutEverywhere,
    /// The password changed; every other device is signed out.
    PasswordChanged,
    /// A spent refresh token came back: possible theft.
    RefreshTokenReused,
    /// The person said a sign-in was not them ("This wasn't me").
    ReportedByOwner,
    /// A new password was set through a link from the account's mail: every device is out.
    PasswordReset,
    /// A sign-in went past the cap on live sessions per account; the least recently used
    /// session made room (`sessions::start`).
    SessionLimit,
    /// An operator signed the session out (`service::admin`).
    Operator,
    /// An operator disabled the account: every session ended.
    AccountDisabled,
}

impl EndReason {
    pub const ALL: [EndReason; 10] = [
        EndReason::SignedOut,
        EndReason::SignedOutElsewhere,
        EndReason::SignedOutEverywhere,
        EndReason::PasswordChanged,
        EndReason::RefreshTokenReused,
        EndReason::ReportedByOwner,
        EndReason::PasswordReset,
        EndReason::SessionLimit,
        EndReason::Operator,
        EndReason::AccountDisabled,
    ];

    /// The stored text value.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SignedOut => "signed_out",
            EndReason::SignedOutElsewhere => "signed_out_elsewhere",
            EndReason::SignedOutEverywhere => "signed_out_everywhere",
            EndReason::PasswordChanged => "password_changed",
            EndReason::RefreshTokenReused => "refresh_token_reused",
            EndReason::ReportedByOwner => "reported_by_owner",
            EndReason::PasswordReset => "password_reset",
            EndReason::SessionLimit => "session_limit",
            EndReason::Operator => "operator",
            EndReason::AccountDisabled => "account_disabled",
        }
    }

    pub fn parse(value: &str) -> Option<EndReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// The event a session ended for this reason leaves in the activity.
    pub fn event_kind(self) -> EventKind {
        match self {
            EndReason::RefreshTokenReused => EventKind::RefreshTokenReused,
            EndReason::SignedOut
            | EndReason::SignedOutElsewhere
            | EndReason::SignedOutEverywhere
            | EndReason::PasswordChanged
            | EndReason::ReportedByOwner
            | EndReason::PasswordReset
            | EndReason::SessionLimit
            | EndReason::Operator
            | EndReason::AccountDisabled => EventKind::SessionRevoked,
        }
    }

    /// How the session ended, the end of "… was signed out ___", told from the viewer's side.
    /// `max_sessions` is the cap on live sessions per account.
    fn how(self, by: Actor, max_sessions: u32) -> String {
        let how = match self {
            EndReason::RefreshTokenReused => "automatically, because a refresh token was used twice",
            EndReason::PasswordChanged => "because the password was changed",
            EndReason::ReportedByOwner => "after you said the sign-in wasn't you",
            EndReason::PasswordReset => "because the password was reset",
            EndReason::Operator => "by an administrator",
            EndReason::AccountDisabled => "because an administrator disabled your account",
            EndReason::SessionLimit => {
                let devices = if max_sessions == 1 { "1 device".to_owned() } else { format!("{max_sessions} devices") };
                return format!(
                    "because you signed in on more than {devices}; the one used least recently makes room for the new sign-in"
                );
            }
            EndReason::SignedOut | EndReason::SignedOutElsewhere | EndReason::SignedOutEverywhere => match by {
                Actor::ThisDevice => "from this device",
                Actor::Itself => "by signing out",
                Actor::AnotherDevice => "from another device",
                Actor::Server => "by the server",
            },
        };
        how.to_owned()
    }
}

/// Who ended a session, seen from the device reading the activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    ThisDevice,
    /// The session ended itself (signed out on that device).
    Itself,
    AnotherDevice,
    Server,
}

/// The `detail` of a `signed_in` event whose session signed in with a passkey.
pub const PASSKEY_SIGN_IN: &str = "passkey";

/// One event to record.
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub user_id: &'a str,
    pub kind: EventKind,
    pub session_id: Option<&'a str>,
    pub actor_session_id: Option<&'a str>,
    pub reason: Option<EndReason>,
    /// Where the request came from.
    pub client: Option<&'a Client>,
    /// A sign-in from a device the account did not know, about which the owner was mailed
    /// (`service::new_device`).
    pub new_device: bool,
    /// What the kind needs said besides (the new address of an email change).
    pub detail: Option<&'a str>,
}

impl<'a> NewEvent<'a> {
    pub fn new(user_id: &'a str, kind: EventKind) -> Self {
        NewEvent { user_id, kind, session_id: None, actor_session_id: None, reason: None, client: None, detail: None, new_device: false }
    }
}

/// Records an event inside the caller's transaction, so it exists exactly when what it
/// describes does. The device it is about (browser, OS) is copied from its session's stored
/// details, so the activity can name it after the session is gone — without parsing.
pub async fn record(tx: &mut Tx, event: NewEvent<'_>, now: i64) -> Result<(), sqlx::Error> {
    let (ip, ua) = event.client.map(|c| (c.ip.as_str(), c.user_agent.as_str())).unwrap_or(("", ""));
    let id = uuid::Uuid::now_v7().to_string();
    let ua: String = ua.chars().take(512).collect();
    with_tx!(tx, |conn| {
        sqlx::query(
            "insert into security_events
               (id, user_id, kind, session_id, actor_session_id, reason, ip, user_agent, created_at, browser, os, detail, new_device)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                     (select browser from sessions where id = $4), (select os from sessions where id = $4), $10, $11)",
        )
        .bind(&id)
        .bind(event.user_id)
        .bind(event.kind.as_str())
        .bind(event.session_id)
        .bind(event.actor_session_id)
        .bind(event.reason.map(EndReason::as_str))
        .bind(ip)
        .bind(&ua)
        .bind(now)
        .bind(event.detail)
        .bind(event.new_device)
        .execute(conn)
        .await.map(|done| done.rows_affected())
    })?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    session_id: Option<String>,
    actor_session_id: Option<String>,
    reason: Option<String>,
    ip: String,
    user_agent: String,
    created_at: i64,
    /// The device the event is about, as stored (the event's own copy, else its session's);
    /// null only in rows from before device details were stored.
    browser: Option<String>,
    os: Option<String>,
    /// The user agent of the session the event is about (read only for those older rows).
    subject_agent: Option<String>,
    subject_alive: Option<i64>,
    detail: Option<String>,
    /// A sign-in the owner was mailed about: the device was new to the account.
    new_device: bool,
}

/// The account's most recent events, newest first, told from `current_session`'s view.
/// `max_sessions`: the cap on live sessions per account, which the wording of
/// [`EndReason::SessionLimit`] names.
pub async fn recent(
    db: &Db,
    user_id: &str,
    current_session: &str,
    limit: i64,
    max_sessions: u32,
    now: i64,
) -> Result<Vec<SecurityEvent>, sqlx::Error> {
    // `cast(… as bigint)`: PostgreSQL's `case` of literals is an int4, SQLite's an integer.
    let rows: Vec<Row> = with_db!(db.read(), |pool| {
        sqlx::query_as(
            "select e.id, e.kind, e.session_id, e.actor_session_id, e.reason, e.ip, e.user_agent, e.created_at,
                    coalesce(e.browser, s.browser) as browser, coalesce(e.os, s.os) as os,
                    s.user_agent as subject_agent, e.detail,
                    cast(case when s.revoked_at is null and s.expires_at > $3 then 1 else 0 end as bigint) as subject_alive,
                    e.new_device
               from security_events e left join sessions s on s.id = e.session_id
              where e.user_id = $1
              order by e.created_at desc, e.id desc
              limit $2",
        )
        .bind(user_id)
        .bind(limit)
        .bind(now)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows.into_iter().filter_map(|r| describe(r, current_session, max_sessions, now)).collect())
}

/// One stored event in plain words; `None` for a kind this version does not know (written
/// by a newer instance during a rolling upgrade), which is left out rather than misnamed.
fn describe(r: Row, current: &str, max_sessions: u32, now: i64) -> Option<SecurityEvent> {
    let kind = EventKind::parse(&r.kind)?;
    let device = match (r.browser.as_deref(), r.os.as_deref()) {
        (Some(browser), Some(os)) => user_agent::label(browser, os),
        _ => user_agent::parse(r.subject_agent.as_deref().unwrap_or(&r.user_agent)).label(),
    };
    let is_this = r.session_id.as_deref() == Some(current);
    let which = if is_this { "This device".to_owned() } else { device.clone() };
    let actor = match r.actor_session_id.as_deref() {
        Some(a) if a == current => Actor::ThisDevice,
        Some(a) if Some(a) == r.session_id.as_deref() => Actor::Itself,
        Some(_) => Actor::AnotherDevice,
        None => Actor::Server,
    };
    let reason = r.reason.as_deref().and_then(EndReason::parse).unwrap_or(EndReason::SignedOut);
    let text = match kind {
        EventKind::SignedIn => {
            let ip = if r.ip.is_empty() { String::new() } else { format!(" from IP {}", r.ip) };
            let new = if r.new_device { " — a device new to your account; we emailed you about it" } else { "" };
            // `detail` says how, when it was not the password.
            let with = if r.detail.as_deref() == Some(PASSKEY_SIGN_IN) { " with a passkey" } else { "" };
            if is_this {
                format!("New sign-in{with} on this device ({device}){ip}{new}")
            } else {
                format!("New sign-in{with} on {device}{ip}{new}")
            }
        }
        EventKind::PasswordChanged => "Password changed; other devices were signed out".to_owned(),
        EventKind::PasswordReset => {
            let ip = if r.ip.is_empty() { String::new() } else { format!(" from IP {}", r.ip) };
            format!("Password reset with a link from your email, on {device}{ip}; every device was signed out")
        }
        EventKind::SessionRevoked if reason == EndReason::Operator => {
            let of = if is_this { "this device".to_owned() } else { device.clone() };
            format!("An administrator signed you out of {of}")
        }
        EventKind::SessionRevoked => format!("{which} was signed out {}", reason.how(actor, max_sessions)),
        EventKind::RefreshTokenReused => format!(
            "A refresh token of {which} was used twice — possible theft. That device was signed out to protect you."
        ),
        EventKind::EmailVerified => "Email address verified".to_owned(),
        EventKind::EmailChanged => match r.detail.as_deref() {
            Some(to) => format!("Email address changed to {to}"),
            None => "Email address changed".to_owned(),
        },
        EventKind::TwoStepEnabled => format!("Two-step verification turned on, on {which}"),
        EventKind::TwoStepDisabled => format!("Two-step verification turned off, on {which}"),
        EventKind::RecoveryCodesRenewed => format!("New recovery codes made on {which}; the old ones no longer work"),
        EventKind::RecoveryCodeUsed => match r.detail.as_deref() {
            Some(left) => format!("A recovery code was used to sign in on {which}; {left} left"),
            None => format!("A recovery code was used to sign in on {which}"),
        },
        EventKind::PasskeyAdded => format!("Passkey “{}” added on {which}", r.detail.as_deref().unwrap_or("")),
        EventKind::PasskeyRemoved => format!("Passkey “{}” removed on {which}", r.detail.as_deref().unwrap_or("")),
        EventKind::PasskeyCounterWentBack => {
            let ip = if r.ip.is_empty() { String::new() } else { format!(" from IP {}", r.ip) };
            format!(
                "A sign-in with your passkey “{}” was refused{ip}: its signature counter went back, so it may have been copied",
                r.detail.as_deref().unwrap_or("")
            )
        }
        EventKind::AccountDisabled => "An administrator disabled your account; every device was signed out".to_owned(),
        EventKind::AccountEnabled => "An administrator enabled your account again".to_owned(),
        EventKind::ResetLinkSentByOperator => "An administrator sent you a link to set a new password".to_owned(),
        EventKind::SecondFactorRemovedByOperator => {
            "An administrator turned off two-step verification for you; a new password is needed to sign in".to_owned()
        }
    };
    Some(SecurityEvent {
        id: r.id,
        kind: r.kind,
        text,
        at: rfc3339(r.created_at),
        ago: ago(r.created_at, now),
        can_disown: kind == EventKind::SignedIn && !is_this && r.subject_alive == Some(1),
        session_id: r.session_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_reason_reads_back_from_its_stored_text() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        for reason in EndReason::ALL {
            assert_eq!(EndReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(EventKind::parse("made_up"), None);
        assert_eq!(EndReason::parse(""), None);
    }

    #[test]
    fn the_database_keeps_the_text_values_it_always_had() {
        let kinds: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "signed_in",
                "password_changed",
                "session_revoked",
                "refresh_token_reused",
                "password_reset",
                "email_verified",
                "email_changed",
                "two_step_enabled",
                "two_step_disabled",
                "recovery_codes_renewed",
                "recovery_code_used",
                "passkey_added",
                "passkey_removed",
                "passkey_counter_went_back",
                "account_disabled",
                "account_enabled",
                "reset_link_sent_by_operator",
                "second_factor_removed_by_operator"
            ]
        );
        let reasons: Vec<_> = EndReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "signed_out",
                "signed_out_elsewhere",
                "signed_out_everywhere",
                "password_changed",
                "refresh_token_reused",
                "reported_by_owner",
                "password_reset",
                "session_limit",
                "operator",
                "account_disabled"
            ]
        );
    }

    fn row(kind: &str, session: &str, actor: Option<&str>, reason: Option<&str>) -> Row {
        Row {
            id: "e1".into(),
            kind: kind.into(),
            session_id: Some(session.into()),
            actor_session_id: actor.map(Into::into),
            reason: reason.map(Into::into),
            ip: "203.0.113.9".into(),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36".into(),
            created_at: 0,
            browser: None,
            os: None,
            subject_agent: None,
            subject_alive: Some(1),
            detail: None,
            new_device: false,
        }
    }

    #[test]
    fn address_events_read_plainly() {
        let text = |r: Row| describe(r, "me", 100, 10).map(|e| e.text).unwrap_or_default();
        assert_eq!(text(row("email_verified", "me", None, None)), "Email address verified");
        let changed = Row { detail: Some("ada@new.example.com".into()), ..row("email_changed", "me", None, None) };
        assert_eq!(text(changed), "Email address changed to ada@new.example.com");
    }

    #[test]
    fn sign_outs_are_told_from_the_readers_side() {
        let text = |r: Row| describe(r, "me", 100, 10).map(|e| e.text).unwrap_or_default();
        assert_eq!(text(row("session_revoked", "other", Some("me"), Some("signed_out_elsewhere"))), "Chrome on Linux was signed out from this device");
        assert_eq!(text(row("session_revoked", "other", Some("other"), Some("signed_out"))), "Chrome on Linux was signed out by signing out");
        assert_eq!(text(row("session_revoked", "me", Some("third"), Some("signed_out_everywhere"))), "This device was signed out from another device");
        assert_eq!(text(row("session_revoked", "other", None, Some("reported_by_owner"))), "Chrome on Linux was signed out after you said the sign-in wasn't you");
        assert_eq!(text(row("session_revoked", "other", Some("me"), Some("password_changed"))), "Chrome on Linux was signed out because the password was changed");
        assert!(text(row("refresh_token_reused", "other", None, Some("refresh_token_reused"))).contains("used twice"));
        assert_eq!(
            text(row("session_revoked", "other", Some("newest"), Some("session_limit"))),
            "Chrome on Linux was signed out because you signed in on more than 100 devices; \
             the one used least recently makes room for the new sign-in"
        );
    }

    #[test]
    fn operator_actions_read_as_an_administrators() {
        let text = |r: Row| describe(r, "me", 100, 10).map(|e| e.text).unwrap_or_default();
        assert_eq!(text(row("session_revoked", "other", None, Some("operator"))), "An administrator signed you out of Chrome on Linux");
        assert_eq!(text(row("session_revoked", "me", None, Some("operator"))), "An administrator signed you out of this device");
        assert_eq!(
            text(row("session_revoked", "other", None, Some("account_disabled"))),
            "Chrome on Linux was signed out because an administrator disabled your account"
        );
        assert!(text(row("account_disabled", "other", None, None)).starts_with("An administrator disabled your account"));
    }

    #[test]
    fn the_stored_device_is_named_without_parsing_the_user_agent() {
        let stored = Row { browser: Some("Firefox".into()), os: Some("Windows 10".into()), ..row("signed_in", "other", None, None) };
        let text = describe(stored, "me", 100, 10).map(|e| e.text).unwrap_or_default();
        assert_eq!(text, "New sign-in on Firefox on Windows 10 from IP 203.0.113.9");
    }

    #[test]
    fn a_sign_in_from_a_new_device_says_that_the_owner_was_mailed() {
        let stored = Row { new_device: true, browser: Some("Safari".into()), os: Some("iOS".into()), ..row("signed_in", "other", None, None) };
        let text = describe(stored, "me", 100, 10).map(|e| e.text).unwrap_or_default();
        assert_eq!(text, "New sign-in on Safari on iOS from IP 203.0.113.9 — a device new to your account; we emailed you about it");
    }

    #[test]
    fn only_other_devices_live_sign_ins_can_be_disowned_and_unknown_kinds_are_left_out() {
        let signed_in = |session: &str| describe(row("signed_in", session, None, None), "me", 100, 10).map(|e| e.can_disown);
        assert_eq!(signed_in("other"), Some(true));
        assert_eq!(signed_in("me"), Some(false));
        assert!(describe(row("from_the_future", "other", None, None), "me", 100, 10).is_none());
    }
}
