//! The mail worker (ssr only): takes due messages from the queue and sends them, for as long
//! as the server runs. Woken at once when this instance queues a message; otherwise it looks
//! every second (messages queued by other instances, retries coming due).

use super::{queue, Transport};
use crate::server::{clock, db::Db};
use lettre::message::Mailbox;
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;

/// Messages taken per round.
const BATCH: i64 = 20;
const IDLE_POLL: Duration = Duration::from_secs(1);

/// What the worker needs, shared with whoever queues mail (to wake it).
#[derive(Clone)]
pub struct Mailer {
    pub transport: Transport,
    pub from: Mailbox,
    /// The host name in Message-IDs (the public URL's).
    pub host: String,
    wake: Arc<Notify>,
}

impl Mailer {
    pub fn new(transport: Transport, from: Mailbox, host: String) -> Self {
        Mailer { transport, from, host, wake: Arc::new(Notify::new()) }
    }

    /// Tells the worker a message was queued (after the queuing transaction committed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends what is due; returns how many messages were taken (sent or not).
    pub async fn run_once(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let due = queue::claim_due(db, BATCH, clock::now()).await?;

        for message in &due {
            match self.transport.send(&self.from, message, &self.host).await {
                Ok(()) => queue::mark_sent(db, &message.id, clock::now()).await?,
                Err(e) => {
                    tracing::warn!(mail_id = %message.id, attempts = message.attempts + 1, error = %e, "sending mail failed; will retry");
                    crate::server::metrics::mail_failed();
                    queue::mark_failed(db, &message.id, message.attempts, &e.to_string(), clock::now()).await?;
                }
            }
        }
        Ok(due.len())
    }
}

/// Runs until aborted (it lives exactly as long as the server, see `startup`).
/// With `record_depth` (metrics on) it also reports how much mail is waiting, every round.
pub fn spawn(db: Db, mailer: Mailer, record_depth: bool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if record_depth {
                match queue::depth(&db).await {
                    Ok(depth) => crate::server::metrics::mail_queue_depth(depth),
                    Err(e) => tracing::warn!(error = %e, "the mail queue could not be counted"),
                }
            }
            match mailer.run_once(&db).await {
                // A full batch: there may be more right away.
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the mail queue could not be read; trying again"),
            }
            let _ = tokio::time::timeout(IDLE_POLL, mailer.wake.notified()).await;
        }
    })
}
