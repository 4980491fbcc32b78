//! A real SMTP server for the tests: `aiosmtpd` (Python, from PyPI — the test command
//! installs it when missing), spawned on a free port and writing every message it accepts
//! to a Maildir the tests read. It can be stopped and started again on the same port, to
//! play an outage.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use tempfile::TempDir;

pub struct SmtpSink {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let mut sink = SmtpSink { port, dir: tempfile::tempdir().expect("temp dir"), child: None };
        sink.run().await;
        sink
    }

    /// `GATEHOUSE_SMTP_URL` for this sink (no TLS offered, so plain SMTP).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    async fn run(&mut self) {
        let maildir = self.maildir();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{}", self.port), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd starts (pip install aiosmtpd)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(Instant::now() < deadline, "the SMTP sink listens on port {}", self.port);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The outage: the server is gone, connections are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Back after the outage, on the same port, with the same mailbox.
    pub async fn restart(&mut self) {
        self.stop();
        self.run().await;
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// Every message accepted so far, raw (headers and body).
    pub fn messages(&self) -> Vec<String> {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir().join(sub)) {
                for entry in entries.flatten() {
                    if let Ok(text) = std::fs::read_to_string(entry.path()) {
                        found.push(text);
                    }
                }
            }
        }
        found
    }

    /// The messages accepted so far that contain `needle` (a subject, an address).
    pub fn messages_with(&self, needle: &str) -> Vec<String> {
        self.messages().into_iter().filter(|m| m.contains(needle)).collect()
    }

    /// Waits until at least `n` messages containing `needle` have arrived.
    pub async fn wait_for_with(&self, needle: &str, n: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let messages = self.messages_with(needle);
            if messages.len() >= n {
                return messages;
            }
            assert!(Instant::now() < deadline, "{n} message(s) with {needle:?} arrive within {within:?}; got {}", messages.len());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A message's decoded text: headers dropped, quoted-printable undone.
pub fn decoded(raw: &str) -> String {
    let body = raw.split_once("\r\n\r\n").or_else(|| raw.split_once("\n\n")).map(|(_, b)| b).unwrap_or(raw);
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The token of the first link to `path` (e.g. "/reset-password") in a message.
pub fn link_token(raw: &str, path: &str) -> String {
    let text = decoded(raw);
    let marker = format!("{path}?token=");
    let at = text.find(&marker).unwrap_or_else(|| panic!("a {path} link in {text}"));
    text[at + marker.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}
