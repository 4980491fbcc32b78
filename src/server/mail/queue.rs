//! The mail queue (ssr only): `mail_queue`, written inside the caller's transaction and
//! taken by the worker.

use crate::{
    server::db::{Db, Tx},
    with_db, with_tx,
};

/// A worker's claim on a message lasts this long; if it dies mid-send, another worker (on
/// any instance) takes the message up after that.
pub const CLAIM_SECS: i64 = 60;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: i64 = 15 * 60;

/// One message to send: the recipient and the words, both parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A message taken from the queue.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Queued {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i64,
}

/// Queues a message inside the caller's transaction. Returns its id.
pub async fn enqueue_in(tx: &mut Tx, message: &Outgoing, now: i64) -> Result<String, sqlx::Error> {
    let id = uuid::Uuid::now_v7().to_string();
    with_tx!(tx, |conn| {
        sqlx::query(
            "insert into mail_queue (id, recipient, subject, text_body, html_body, created_at, next_attempt_at)
             values ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(&message.to)
        .bind(&message.subject)
        .bind(&message.text)
        .bind(&message.html)
        .bind(now)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(id)
}

/// Takes up to `limit` messages that are due, for [`CLAIM_SECS`]: no other worker takes
/// them meanwhile (PostgreSQL: `for update skip locked`; SQLite has one writer).
pub async fn claim_due(db: &Db, limit: i64, now: i64) -> Result<Vec<Queued>, sqlx::Error> {
    let lock = if db.postgres().is_some() { "for update skip locked" } else { "" };
    let sql = format!(
        "update mail_queue set next_attempt_at = $1
          where id in (select id from mail_queue where sent_at is null and next_attempt_at <= $2
                        order by next_attempt_at, id limit $3 {lock})
          returning id, recipient, subject, text_body, html_body, attempts"
    );
    with_db!(db.write(), |pool| {
        sqlx::query_as::<_, Queued>(sqlx::AssertSqlSafe(sql))
            .bind(now + CLAIM_SECS)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await
    })
}

/// How many messages wait to be sent (the index of due mail covers exactly these).
pub async fn depth(db: &Db) -> Result<i64, sqlx::Error> {
    with_db!(db.read(), |pool| sqlx::query_scalar("select count(*) from mail_queue where sent_at is null").fetch_one(pool).await)
}

/// The server took the message: it is done, and its words (which may hold a link token)
/// are dropped.
pub async fn mark_sent(db: &Db, id: &str, now: i64) -> Result<(), sqlx::Error> {
    with_db!(db.write(), |pool| {
        sqlx::query("update mail_queue set sent_at = $1, text_body = '', html_body = '', last_error = null where id = $2")
            .bind(now)
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Sending failed: try again after a backoff that doubles with every attempt.
pub async fn mark_failed(db: &Db, id: &str, attempts: i64, error: &str, now: i64) -> Result<(), sqlx::Error> {
    let attempts = attempts + 1;
    let error: String = error.chars().take(500).collect();
    with_db!(db.write(), |pool| {
        sqlx::query("update mail_queue set attempts = $1, next_attempt_at = $2, last_error = $3 where id = $4")
            .bind(attempts)
            .bind(now + backoff_secs(attempts))
            .bind(&error)
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Seconds to wait after the `attempts`-th failure: 2, 4, 8 … up to 15 minutes.
pub fn backoff_secs(attempts: i64) -> i64 {
    2_i64.saturating_pow(attempts.clamp(1, 20) as u32).min(MAX_BACKOFF_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_level_out() {
        assert_eq!(backoff_secs(1), 2);
        assert_eq!(backoff_secs(2), 4);
        assert_eq!(backoff_secs(5), 32);
        assert_eq!(backoff_secs(12), MAX_BACKOFF_SECS);
        assert_eq!(backoff_secs(i64::MAX), MAX_BACKOFF_SECS);
    }

    #[tokio::test]
    async fn a_queued_message_is_claimed_once_retried_after_a_failure_and_emptied_when_sent() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::server::db::connect(&format!("sqlite://{}", dir.path().join("m.db").display()), Default::default())
            .await
            .unwrap();
        crate::server::db::migrate(&db).await.unwrap();
        let message = Outgoing { to: "a@example.com".into(), subject: "Hi".into(), text: "t".into(), html: "<p>h</p>".into() };
        let mut tx = db.begin().await.unwrap();
        let id = enqueue_in(&mut tx, &message, 100).await.unwrap();
        tx.commit().await.unwrap();

        let claimed = claim_due(&db, 10, 100).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(claim_due(&db, 10, 100).await.unwrap().is_empty(), "claimed: nobody else takes it");
        mark_failed(&db, &id, claimed[0].attempts, "connection refused", 101).await.unwrap();
        assert!(claim_due(&db, 10, 102).await.unwrap().is_empty(), "backing off");
        let again = claim_due(&db, 10, 103).await.unwrap();
        assert_eq!((again.len(), again[0].attempts), (1, 1));
        mark_sent(&db, &id, 104).await.unwrap();
        assert!(claim_due(&db, 10, 10_000).await.unwrap().is_empty(), "sent is sent");
        let (text, html): (String, String) = with_db!(db.read(), |pool| {
            sqlx::query_as("select text_body, html_body from mail_queue where id = $1").bind(&id).fetch_one(pool).await
        })
        .unwrap();
        assert_eq!((text.as_str(), html.as_str()), ("", ""), "the words are gone once delivered");
    }
}
