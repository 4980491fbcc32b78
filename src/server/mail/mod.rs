//! Mail (ssr only): messages queued in the database and sent by a background worker.
//!
//! A request never waits on a mail server. Whatever wants a message sent writes it to
//! `mail_queue` inside its own transaction ([`queue::enqueue_in`]), so the message exists
//! exactly when the event it tells of does; the worker ([`worker`]) sends it through the
//! configured transport and retries with a growing backoff while the server is unreachable.
//! Nothing is lost in an outage and nothing is sent twice for one event (a message is marked
//! sent only after the server accepted it; the one window for a duplicate — the server
//! accepted and the connection died before it said so — is documented in the README).
//!
//! - `transport`: SMTP through `lettre` (`GATEHOUSE_SMTP_URL`), or the **outbox**: one `.eml`
//!   file per message under `<data dir>/outbox/`, the default with no SMTP URL.
//! - `queue`: the table, claimed by one worker at a time, across instances.
//! - `templates`: every message's words, as plain text and HTML with one look.

pub mod queue;
pub mod templates;
pub mod transport;
pub mod worker;

pub use queue::Outgoing;
pub use transport::Transport;
