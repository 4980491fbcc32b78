//! The users table (ssr only).

use crate::{model::User, server::{clock::rfc3339, db::{Db, Tx}}, with_db, with_tx};
use std::sync::Arc;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub created_at: i64,
    /// When the current address was last proven by a link sent to it; `None`: not yet.
    pub email_verified_at: Option<i64>,
    /// When the account became an operator (`gatehouse admin grant`); `None`: not one.
    pub operator_since: Option<i64>,
    /// When an operator disabled the account; `None`: enabled.
    pub disabled_at: Option<i64>,
    /// Set when an operator removed a lost second factor: a right password then gets a
    /// reset link mailed instead of a session, until a new password is set.
    pub password_reset_required_at: Option<i64>,
}

impl UserRow {
    /// The public view; the password hash stays behind.
    pub fn public(&self) -> User {
        User {
            id: self.id.clone(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            created_at: rfc3339(self.created_at),
            email_verified: self.email_verified_at.is_some(),
        }
    }
}

/// The public side of accounts (`{id, email, display_name, created_at, email_verified}`),
/// cached: every `/api/v1/me`, refresh and signed-in page asks for it, and a database round
/// trip per request is most of what those would otherwise cost.
///
/// The address and its verification can change. The instance that changes them evicts the
/// entry at once ([`Profiles::forget`]); every other instance re-reads an entry older than
/// [`Profiles::FRESH_FOR`], so a change shows everywhere within that time. Nothing that
/// decides access reads this cache (signing in reads the row itself).
pub struct Profiles {
    /// The public view, whether the account is an operator (only the tokens' hint), and
    /// when it was read.
    cache: quick_cache::sync::Cache<String, (Arc<User>, bool, std::time::Instant)>,
}

impl Profiles {
    /// How long a cached profile is trusted.
    pub const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(30);

    pub fn new(capacity: usize) -> Self {
        Profiles { cache: quick_cache::sync::Cache::new(capacity.max(1)) }
    }

    /// The account's public view, from the cache or the database. Shared, not copied: a hit
    /// costs a reference count, not four strings.
    pub async fn get(&self, db: &Db, id: &str) -> Result<Option<Arc<User>>, sqlx::Error> {
        Ok(self.get_with_role(db, id).await?.map(|(user, _)| user))
    }

    /// [`Profiles::get`], and whether the account is an operator — for the access token's
    /// `op` hint only: operator requests check the account itself.
    pub async fn get_with_role(&self, db: &Db, id: &str) -> Result<Option<(Arc<User>, bool)>, sqlx::Error> {
        if let Some((user, operator, at)) = self.cache.get(id) {
            if at.elapsed() < Self::FRESH_FOR {
                return Ok(Some((user, operator)));
            }
        }
        let Some(row) = by_id(db, id).await? else {
            self.cache.remove(id);
            return Ok(None);
        };
        let (user, operator) = (Arc::new(row.public()), row.operator_since.is_some());
        self.cache.insert(row.id, (user.clone(), operator, std::time::Instant::now()));
        Ok(Some((user, operator)))
    }

    /// Drops the account's entry after a change committed.
    pub fn forget(&self, id: &str) {
        self.cache.remove(id);
    }
}

pub async fn by_email(db: &Db, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    with_db!(db.read(), |pool| {
        sqlx::query_as("select id, email, display_name, password_hash, created_at, email_verified_at, operator_since, disabled_at, password_reset_required_at from users where email = $1")
            .bind(email)
            .fetch_optional(pool)
            .await
    })
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
    with_db!(db.read(), |pool| {
        sqlx::query_as("select id, email, display_name, password_hash, created_at, email_verified_at, operator_since, disabled_at, password_reset_required_at from users where id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
    })
}

/// Inserts a user (its address not yet verified); a taken email surfaces as a unique
/// violation.
pub async fn insert(db: &Db, email: &str, display_name: &str, password_hash: &str, now: i64) -> Result<UserRow, sqlx::Error> {
    let mut tx = db.begin().await?;
    let row = insert_in(&mut tx, email, display_name, password_hash, now).await?;
    tx.commit().await?;
    Ok(row)
}

/// [`insert`] inside the caller's transaction.
pub async fn insert_in(tx: &mut Tx, email: &str, display_name: &str, password_hash: &str, now: i64) -> Result<UserRow, sqlx::Error> {
    let row = UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        email: email.to_owned(),
        display_name: display_name.to_owned(),
        password_hash: password_hash.to_owned(),
        created_at: now,
        email_verified_at: None,
        operator_since: None,
        disabled_at: None,
        password_reset_required_at: None,
    };
    with_tx!(tx, |conn| {
        sqlx::query("insert into users (id, email, display_name, password_hash, created_at) values ($1, $2, $3, $4, $5)")
            .bind(&row.id)
            .bind(&row.email)
            .bind(&row.display_name)
            .bind(&row.password_hash)
            .bind(row.created_at)
            .execute(conn)
            .await.map(|done| done.rows_affected())
    })?;
    Ok(row)
}

/// Up to `limit` stored password hashes, picked at random: what the parameters in use are.
pub async fn sample_password_hashes(db: &Db, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    with_db!(db.read(), |pool| {
        sqlx::query_scalar("select password_hash from users order by random() limit $1").bind(limit).fetch_all(pool).await
    })
}

/// Notes the account's first sign-in inside the sign-in's transaction. True when this is it
/// (the account never signed in before): a new-device alert is not sent for it.
pub async fn mark_first_sign_in_in(tx: &mut Tx, id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = with_tx!(tx, |conn| {
        sqlx::query("update users set first_sign_in_at = $1 where id = $2 and first_sign_in_at is null")
            .bind(now)
            .bind(id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Replaces the password hash inside the caller's transaction — only if it is still the one
/// the caller checked a password against (`checked`). False when it changed meanwhile: the
/// check is stale and must not count.
///
/// With `new == checked` nothing changes but the row is locked until the transaction ends
/// (PostgreSQL; SQLite has a single writer): a password change racing the caller then waits
/// for it, and sees and signs out whatever it committed.
pub async fn replace_password_hash_in(tx: &mut Tx, id: &str, checked: &str, new: &str) -> Result<bool, sqlx::Error> {
    let done = with_tx!(tx, |conn| {
        sqlx::query("update users set password_hash = $1 where id = $2 and password_hash = $3")
            .bind(new)
            .bind(id)
            .bind(checked)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Marks the account's address verified — only if it is still `email` (a link made for an
/// older address proves nothing about the new one). False when the address changed.
pub async fn mark_verified_in(tx: &mut Tx, id: &str, email: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = with_tx!(tx, |conn| {
        sqlx::query("update users set email_verified_at = coalesce(email_verified_at, $1) where id = $2 and email = $3")
            .bind(now)
            .bind(id)
            .bind(email)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Moves the account from address `old` to `new`, verified now (the link that asks for this
/// was sent to `new`). False when the address is no longer `old`; a `new` taken meanwhile by
/// another account surfaces as a unique violation.
pub async fn change_email_in(tx: &mut Tx, id: &str, old: &str, new: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = with_tx!(tx, |conn| {
        sqlx::query("update users set email = $1, email_verified_at = $2 where id = $3 and email = $4")
            .bind(new)
            .bind(now)
            .bind(id)
            .bind(old)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Locks the account's row until the transaction ends (PostgreSQL; SQLite has one writer),
/// so that requests for one account that count something of it go one after another. False
/// when the account is gone.
pub async fn lock_in(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    let done = with_tx!(tx, |conn| {
        sqlx::query("update users set id = id where id = $1").bind(id).execute(conn).await.map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}
