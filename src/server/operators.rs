//! Operators' tables and columns (ssr only): who is an operator, disabled accounts, finding
//! accounts, and the audit log of what operators did. The rules are `service::admin`'s.

use crate::{
    server::db::{Db, Tx},
    with_db, with_tx,
};

/// What an operator can do to an account, as the audit log stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SignOut,
    SignOutAll,
    Disable,
    Enable,
    SendReset,
    RemoveSecondFactor,
}

impl Action {
    pub const ALL: [Action; 6] =
        [Action::SignOut, Action::SignOutAll, Action::Disable, Action::Enable, Action::SendReset, Action::RemoveSecondFactor];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::SignOut => "sign_out",
            Action::SignOutAll => "sign_out_all",
            Action::Disable => "disable",
            Action::Enable => "enable",
            Action::SendReset => "send_reset",
            Action::RemoveSecondFactor => "remove_second_factor",
        }
    }

    pub fn parse(value: &str) -> Option<Action> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }

    /// The audit log's words: "signed out a session of ada@example.com".
    pub fn describe(self) -> &'static str {
        match self {
            Action::SignOut => "signed out one session",
            Action::SignOutAll => "signed out every session",
            Action::Disable => "disabled the account",
            Action::Enable => "enabled the account",
            Action::SendReset => "sent a link to set a new password",
            Action::RemoveSecondFactor => "removed two-step verification",
        }
    }
}

/// Makes the account with this address an operator (`on`) or not. False: no such account.
pub async fn set_operator(db: &Db, email: &str, on: bool, now: i64) -> Result<bool, sqlx::Error> {
    let done = with_db!(db.write(), |pool| {
        sqlx::query(
            "update users set operator_since = case when $1 then coalesce(operator_since, $2) else null end where email = $3",
        )
        .bind(on)
        .bind(now)
        .bind(email)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Every operator: address, name, since when, and whether disabled.
pub async fn list_operators(db: &Db) -> Result<Vec<(String, String, i64, Option<i64>)>, sqlx::Error> {
    with_db!(db.read(), |pool| {
        sqlx::query_as(
            "select email, display_name, operator_since, disabled_at from users where operator_since is not null order by email",
        )
        .fetch_all(pool)
        .await
    })
}

/// True when the account is disabled, read inside the caller's transaction (after it locked
/// the row, the answer holds until it commits).
pub async fn disabled_in(tx: &mut Tx, user_id: &str) -> Result<bool, sqlx::Error> {
    let disabled: Option<Option<i64>> = with_tx!(tx, |conn| {
        sqlx::query_scalar("select disabled_at from users where id = $1").bind(user_id).fetch_optional(conn).await
    })?;
    Ok(matches!(disabled, Some(Some(_))))
}

/// Disables the account; false when it already was.
pub async fn disable_in(tx: &mut Tx, user_id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = with_tx!(tx, |conn| {
        sqlx::query("update users set disabled_at = $1 where id = $2 and disabled_at is null")
            .bind(now)
            .bind(user_id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Enables the account; false when it already was.
pub async fn enable_in(tx: &mut Tx, user_id: &str) -> Result<bool, sqlx::Error> {
    let done = with_tx!(tx, |conn| {
        sqlx::query("update users set disabled_at = null where id = $1 and disabled_at is not null")
            .bind(user_id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// A new password is needed before the next session (a second factor was removed).
pub async fn require_reset_in(tx: &mut Tx, user_id: &str, now: i64) -> Result<(), sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query("update users set password_reset_required_at = $1 where id = $2")
            .bind(now)
            .bind(user_id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// A new password was set: signing in works again.
pub async fn clear_reset_required_in(tx: &mut Tx, user_id: &str) -> Result<(), sqlx::Error> {
    with_tx!(tx, |conn| {
        sqlx::query("update users set password_reset_required_at = null where id = $1 and password_reset_required_at is not null")
            .bind(user_id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// An account as a search lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Found {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub created_at: i64,
    pub email_verified_at: Option<i64>,
    pub operator_since: Option<i64>,
    pub disabled_at: Option<i64>,
}

/// Accounts whose address or name (any case) starts with `query`, by address, after the
/// address `after`, at most `limit`. An empty query lists every account.
///
/// Each half is a range of an index (the address's, the lowercased name's, in byte order),
/// so a page costs about the same at 100 accounts and at 100,000.
pub async fn search(db: &Db, query: &str, after: &str, limit: i64) -> Result<Vec<Found>, sqlx::Error> {
    const COLUMNS: &str = "id, email, display_name, created_at, email_verified_at, operator_since, disabled_at";
    let query = query.trim().to_lowercase();
    // PostgreSQL compares text by its collation; the indexes are in byte order ("C"), as
    // SQLite's are, and the comparisons ask for that order so the indexes serve them.
    let c = if db.postgres().is_some() { " collate \"C\"" } else { "" };
    if query.is_empty() {
        let sql = format!("select {COLUMNS} from users where email{c} > $1 order by email{c} limit $2");
        return with_db!(db.read(), |pool| {
            sqlx::query_as::<_, Found>(sqlx::AssertSqlSafe(sql)).bind(after).bind(limit).fetch_all(pool).await
        });
    }
    // Everything that starts with `query` sorts before `query` followed by the last code point.
    let upper = format!("{query}\u{10FFFF}");
    // The union's `email` is in byte order too (`collate "C"` on PostgreSQL), so `order by`
    // and `limit` pick the same page the cursor continues from.
    let union_columns = format!("id, email{c} as email, display_name, created_at, email_verified_at, operator_since, disabled_at");
    let sql = format!(
        "select {union_columns} from users where email{c} >= $1 and email{c} < $2 and email{c} > $3
         union
         select {union_columns} from users where lower(display_name){c} >= $1 and lower(display_name){c} < $2 and email{c} > $3
         order by 2 limit $4"
    );
    with_db!(db.read(), |pool| {
        sqlx::query_as::<_, Found>(sqlx::AssertSqlSafe(sql)).bind(&query).bind(&upper).bind(after).bind(limit).fetch_all(pool).await
    })
}

/// One entry of the audit log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Logged {
    pub id: String,
    pub operator_id: String,
    pub operator_email: String,
    pub target_id: String,
    pub target_email: String,
    pub action: String,
    pub detail: Option<String>,
    pub created_at: i64,
}

/// Who did what to whom, inside the transaction of the action itself.
pub struct Entry<'a> {
    pub operator_id: &'a str,
    pub operator_email: &'a str,
    pub target_id: &'a str,
    pub target_email: &'a str,
    pub action: Action,
    pub detail: Option<&'a str>,
}

pub async fn record_in(tx: &mut Tx, entry: Entry<'_>, now: i64) -> Result<(), sqlx::Error> {
    let id = uuid::Uuid::now_v7().to_string();
    with_tx!(tx, |conn| {
        sqlx::query(
            "insert into operator_actions (id, operator_id, operator_email, target_id, target_email, action, detail, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(entry.operator_id)
        .bind(entry.operator_email)
        .bind(entry.target_id)
        .bind(entry.target_email)
        .bind(entry.action.as_str())
        .bind(entry.detail)
        .bind(now)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// The audit log, newest first: at most `limit` entries older than the entry `before` (an
/// id; ids are time-ordered UUIDv7), of one account when `target` is given.
pub async fn log(db: &Db, target: Option<&str>, before: Option<&str>, limit: i64) -> Result<Vec<Logged>, sqlx::Error> {
    with_db!(db.read(), |pool| {
        sqlx::query_as(
            "select id, operator_id, operator_email, target_id, target_email, action, detail, created_at
               from operator_actions
              where (cast($1 as text) is null or target_id = $1) and (cast($2 as text) is null or id < $2)
              order by id desc
              limit $3",
        )
        .bind(target)
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await
    })
}
