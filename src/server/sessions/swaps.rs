//! Group commit for rotations on SQLite (ssr only).
//!
//! A rotation's one write is the swap: `update sessions … where refresh_hash = <presented>`
//! (see `rotate`). SQLite has one writer, so swaps queue for it, and each one also pays for
//! its trip to the connection's thread and back, its commit (locks, WAL frames) and the hand
//! over of the connection to the next in line — round trips and wake-ups that dominate the
//! swap itself, so with 32 clients the writer spent most of its time waiting, not writing.
//!
//! [`Swaps`] gathers the swaps that arrive while one is being written and writes them
//! together: one `update … from (values …)` statement, one commit, one trip. Each swap keeps
//! its own conditions (its own `now`, idle limit and presented hash), and each caller learns
//! whether its own swap won, exactly as with a statement of its own. The same presented hash
//! is never twice in one statement: racing requests with the same token go in consecutive
//! statements, so the first wins and the second finds the token spent, as before.
//!
//! PostgreSQL runs many writers at once and takes the one-statement path in `rotate`.

use crate::server::tokens::refresh::TokenHash;
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

/// What a won swap returns: session id, user id, session end, `auth_time`, `amr`.
pub type Won = (String, String, i64, i64, String);

/// One swap: the presented token's hash for its successor's, if the session is usable at `now`.
#[derive(Debug, Clone, Copy)]
pub struct Swap {
    pub old_hash: TokenHash,
    pub next_hash: TokenHash,
    pub now: i64,
    /// The live token must have been issued after this (the idle limit).
    pub issued_after: i64,
    pub holder: [u8; 32],
}

struct Queued {
    swap: Swap,
    answer: oneshot::Sender<Result<Option<Won>, sqlx::Error>>,
}

/// At most this many swaps in one statement (5 parameters each).
const MAX_BATCH: usize = 64;

/// The queue in front of the SQLite writer for swaps; cheap to clone.
#[derive(Debug, Clone)]
pub struct Swaps(mpsc::UnboundedSender<Queued>);

impl Swaps {
    /// Starts the task that writes the swaps through `writes` (the one-connection pool). It
    /// ends when the last `Swaps` is dropped.
    pub fn spawn(writes: SqlitePool) -> Swaps {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(writes, receiver));
        Swaps(sender)
    }

    /// Writes `swap` (with whatever else is waiting) and says whether it won.
    pub async fn swap(&self, swap: Swap) -> Result<Option<Won>, sqlx::Error> {
        let (answer, answered) = oneshot::channel();
        self.0.send(Queued { swap, answer }).map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

fn gone() -> sqlx::Error {
    sqlx::Error::PoolClosed
}

async fn run(writes: SqlitePool, mut queue: mpsc::UnboundedReceiver<Queued>) {
    // Swaps held back from the last statement because their token was already in it.
    let mut held: Vec<Queued> = Vec::new();
    loop {
        if held.is_empty() {
            match queue.recv().await {
                Some(first) => held.push(first),
                None => return,
            }
        }
        // What is waiting: the held-back swaps first, then the queue, up to a batch's worth.
        let mut waiting = std::mem::take(&mut held);
        while waiting.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(queued) => waiting.push(queued),
                Err(_) => break,
            }
        }
        let mut batch: Vec<Queued> = Vec::with_capacity(waiting.len());
        let mut next_held = Vec::new();
        for queued in waiting {
            if batch.len() < MAX_BATCH && !batch.iter().any(|b| b.swap.old_hash == queued.swap.old_hash) {
                batch.push(queued);
            } else {
                next_held.push(queued);
            }
        }
        held = next_held;
        match write(&writes, &batch).await {
            Ok(won) => {
                for queued in batch {
                    let mine = won.iter().position(|(hash, _)| *hash == queued.swap.next_hash);
                    let _ = queued.answer.send(Ok(mine.map(|i| won[i].1.clone())));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, swaps = batch.len(), "rotation swaps failed");
                for queued in batch {
                    let _ = queued.answer.send(Err(copy_of(&e)));
                }
            }
        }
    }
}

/// Each caller gets the error (sqlx's error is not `Clone`).
fn copy_of(e: &sqlx::Error) -> sqlx::Error {
    match e {
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// The statement for `n` swaps (1 ≤ n ≤ [`MAX_BATCH`]), built once per size: only
/// placeholders vary, never data. `values` columns are column1…column5: presented hash,
/// successor's hash, now, the idle limit, the holder. The trigger
/// `sessions_spend_refresh_token` records each spent hash, per row, inside the statement.
fn statement(n: usize) -> &'static str {
    static STATEMENTS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        (1..=MAX_BATCH)
            .map(|n| {
                let rows = (0..n)
                    .map(|i| {
                        let p = i * 5;
                        format!("(${}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4, p + 5)
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "update sessions
                        set refresh_hash = b.column2, refresh_issued_at = b.column3, rotations = rotations + 1,
                            last_used_at = b.column3, refresh_holder = b.column5
                       from (values {rows}) as b
                      where sessions.refresh_hash = b.column1 and sessions.revoked_at is null
                        and sessions.expires_at > b.column3 and sessions.refresh_issued_at > b.column4
                      returning refresh_hash, id, user_id, expires_at, coalesce(auth_time, created_at), amr"
                )
            })
            .collect()
    });
    STATEMENTS[n - 1].as_str()
}

/// One statement for the whole batch; answers the new hash of every swap that won.
async fn write(writes: &SqlitePool, batch: &[Queued]) -> Result<Vec<(TokenHash, Won)>, sqlx::Error> {
    let mut query = sqlx::query_as::<_, (Vec<u8>, String, String, i64, i64, String)>(statement(batch.len()));
    for queued in batch {
        let s = &queued.swap;
        query = query.bind(&s.old_hash[..]).bind(&s.next_hash[..]).bind(s.now).bind(s.issued_after).bind(&s.holder[..]);
    }
    let rows = query.fetch_all(writes).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(hash, id, user, expires_at, auth_time, amr)| {
            let hash: TokenHash = hash.try_into().ok()?;
            Some((hash, (id, user, expires_at, auth_time, amr)))
        })
        .collect())
}
