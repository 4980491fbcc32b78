//! Where mail goes (ssr only): an SMTP server, or the outbox folder.
//!
//! `GATEHOUSE_SMTP_URL`:
//! - `smtp://[user:pass@]host:port` — STARTTLS when the server offers it, plain otherwise
//!   (so a local test sink works);
//! - `smtp://…?tls=required` — STARTTLS or nothing;
//! - `smtps://…:465` — TLS from the first byte.
//!
//! Credentials are sent only when the URL has them. Without a URL, every message becomes a
//! `.eml` file in the outbox, and the log names the file (never the link inside).

use super::queue::Queued;
use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the mail settings are wrong: {0}")]
    Config(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("sending failed: {0}")]
    Send(String),
}

#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

impl Transport {
    /// SMTP when `smtp_url` is set, else the outbox under `data_dir`.
    pub fn new(smtp_url: Option<&str>, data_dir: &std::path::Path) -> Result<Transport, MailError> {
        match smtp_url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => {
                let url = opportunistic_by_default(url)?;
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|e| MailError::Config(format!("GATEHOUSE_SMTP_URL: {e}")))?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .build();
                Ok(Transport::Smtp(transport))
            }
            None => Ok(Transport::Outbox(data_dir.join("outbox"))),
        }
    }

    /// Where mail goes, for the start-up log (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(_) => "an SMTP server (GATEHOUSE_SMTP_URL)".to_owned(),
            Transport::Outbox(dir) => format!("the outbox folder {}", dir.display()),
        }
    }

    /// Hands one message over; Ok once the server (or the file system) has taken it.
    pub async fn send(&self, from: &Mailbox, message: &Queued, host: &str) -> Result<(), MailError> {
        let email = build(from, message, host)?;
        match self {
            Transport::Smtp(smtp) => smtp.send(email).await.map(|_| ()).map_err(|e| MailError::Send(e.to_string())),
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| MailError::Send(format!("creating {}: {e}", dir.display())))?;
                let file = dir.join(format!("{}.eml", message.id));
                let partial = dir.join(format!(".{}.eml.part", message.id));
                // Written aside, then renamed: a reader never sees half a message.
                tokio::fs::write(&partial, email.formatted())
                    .await
                    .map_err(|e| MailError::Send(format!("writing {}: {e}", partial.display())))?;
                tokio::fs::rename(&partial, &file)
                    .await
                    .map_err(|e| MailError::Send(format!("moving {} into place: {e}", file.display())))?;
                tracing::info!(file = %file.display(), "mail written to the outbox");
                Ok(())
            }
        }
    }
}

/// SPEC: plain `smtp://` upgrades with STARTTLS when offered; lettre's plain URL would not.
fn opportunistic_by_default(url: &str) -> Result<String, MailError> {
    let Some((scheme, _)) = url.split_once("://") else {
        return Err(MailError::Config("GATEHOUSE_SMTP_URL is not a URL such as smtp://host:25".into()));
    };
    let query = url.split_once('?').map(|(_, q)| q);
    let names_tls = query.is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "tls"));
    if scheme == "smtp" && !names_tls {
        let joiner = if query.is_some() { '&' } else { '?' };
        return Ok(format!("{url}{joiner}tls=opportunistic"));
    }
    Ok(url.to_owned())
}

/// The message as it goes out: both parts, and a Message-ID from its queue id, so a
/// retried send is recognisably the same message.
fn build(from: &Mailbox, message: &Queued, host: &str) -> Result<Message, MailError> {
    let to: Mailbox = message.recipient.parse().map_err(|e| MailError::Build(format!("recipient: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(format!("<{}@{host}>", message.id)))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(message.text_body.clone()))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(message.html_body.clone())),
        )
        .map_err(|e| MailError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_upgrades_when_offered_and_explicit_choices_stand() {
        assert_eq!(opportunistic_by_default("smtp://localhost:2525").unwrap(), "smtp://localhost:2525?tls=opportunistic");
        assert_eq!(opportunistic_by_default("smtp://u:p@mx:587?tls=required").unwrap(), "smtp://u:p@mx:587?tls=required");
        assert_eq!(opportunistic_by_default("smtps://mx:465").unwrap(), "smtps://mx:465");
        assert!(opportunistic_by_default("not a url").is_err());
        assert!(Transport::new(Some("ftp://mx"), std::path::Path::new("/tmp")).is_err());
        assert!(matches!(Transport::new(None, std::path::Path::new("/data")).unwrap(), Transport::Outbox(d) if d.ends_with("outbox")));
    }
}
