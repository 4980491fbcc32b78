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

    /// Waits until at least `n` messages have arrived (or panics after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(Instant::now() < deadline, "{n} message(s) arrive within {within:?}; got {}", messages.len());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
