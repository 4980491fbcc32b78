//! Configuration from flags and environment variables (ssr only).
//! Every setting has a safe default; a bad value stops start-up with the variable's name.

use crate::server::tokens::refresh::SuccessorKey;
use clap::{Args, Parser, Subcommand};
use std::{net::SocketAddr, path::PathBuf, time::Duration};

#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about = "Sign-in with short-lived access tokens and rotating refresh tokens")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the app (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the access-token signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Manage operators: the accounts that may use /admin.
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
    /// Copy the SQLite database to FILE while the server runs (a consistent snapshot; the
    /// file must not exist). For PostgreSQL use `pg_dump` (docs/operations.md).
    Backup {
        /// Where the copy goes.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make the account with this address an operator.
    Grant { email: String },
    /// Take operator status away from the account with this address.
    Revoke { email: String },
    /// List the operators.
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key; the current one stops signing but verifies until its tokens expire.
    Rotate,
    /// List signing keys and their state.
    List,
    /// Put a new refresh secret in the secret file (created if missing), keeping the current
    /// one as the previous secret; running instances use it once restarted.
    RotateSecret,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Folder for the default SQLite database.
    #[arg(long, env = "GATEHOUSE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Database to use; default: a SQLite file `gatehouse.db` in the data directory.
    /// `postgres://…` selects PostgreSQL (several instances can share it).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Most database connections per instance (SQLite: readers; writes always use one).
    #[arg(long, env = "GATEHOUSE_DB_MAX_CONNECTIONS", default_value_t = 8)]
    pub db_max_connections: u32,

    /// PostgreSQL: hear other instances' revocations at once via LISTEN/NOTIFY. When off (or
    /// while the listener is disconnected) an instance polls the database every second.
    #[arg(long, env = "GATEHOUSE_REVOCATION_PUSH", default_value_t = true, action = clap::ArgAction::Set)]
    pub revocation_push: bool,

    /// Address to listen on.
    #[arg(long = "addr", env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub site_addr: SocketAddr,

    /// Where to serve Prometheus metrics (`/metrics`), on a listener of its own; unset: no
    /// metrics are recorded at all. Keep it private (e.g. 127.0.0.1:9090).
    #[arg(long = "metrics-addr", env = "GATEHOUSE_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// The origin people use to reach the app. `https://…` turns on Secure `__Host-` cookies.
    /// Its host is the passkeys' relying party (WebAuthn refuses IP addresses), and page
    /// requests under another host name are sent there. Default: `http://localhost:<port>`
    /// when listening on a loopback or unspecified address, else `http://` plus the address.
    #[arg(long, env = "GATEHOUSE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Lifetime of an access token.
    #[arg(long, env = "GATEHOUSE_ACCESS_TTL", default_value = "15m", value_parser = parse_duration)]
    pub access_ttl: Duration,

    /// A refresh token not used for this long expires (idle timeout).
    #[arg(long, env = "GATEHOUSE_REFRESH_IDLE_TTL", default_value = "7d", value_parser = parse_duration)]
    pub refresh_idle_ttl: Duration,

    /// A session ends this long after sign-in, however active (absolute timeout).
    #[arg(long, env = "GATEHOUSE_REFRESH_ABSOLUTE_TTL", default_value = "30d", value_parser = parse_duration)]
    pub refresh_absolute_ttl: Duration,

    /// How long a just-rotated refresh token is still accepted from a racing tab.
    #[arg(long, env = "GATEHOUSE_REFRESH_GRACE", default_value = "5s", value_parser = parse_duration)]
    pub refresh_grace: Duration,

    /// Password hashes computed at once (default: the number of CPUs).
    #[arg(long, env = "GATEHOUSE_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,

    /// Argon2id memory cost in KiB (OWASP: 19456).
    #[arg(long, env = "GATEHOUSE_ARGON2_MEMORY_KIB", default_value_t = 19456)]
    pub argon2_memory_kib: u32,

    /// Argon2id iterations (OWASP: 2).
    #[arg(long, env = "GATEHOUSE_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// Proxies whose `X-Forwarded-For` is believed (comma-separated IPs or CIDRs). Empty: the
    /// client address is always the connection's peer.
    #[arg(long, env = "GATEHOUSE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Sign-in requests per minute per client address (0: no limit).
    #[arg(long, env = "GATEHOUSE_LOGIN_RATE_PER_MINUTE", default_value_t = 30)]
    pub login_rate_per_minute: u32,

    /// Registrations per minute per client address (0: no limit).
    #[arg(long, env = "GATEHOUSE_REGISTER_RATE_PER_MINUTE", default_value_t = 10)]
    pub register_rate_per_minute: u32,

    /// Refreshes per minute per client address (0: no limit).
    #[arg(long, env = "GATEHOUSE_REFRESH_RATE_PER_MINUTE", default_value_t = 120)]
    pub refresh_rate_per_minute: u32,

    /// "Forgot password?" requests and reset links used per minute per client address (0: no limit).
    #[arg(long, env = "GATEHOUSE_RECOVERY_RATE_PER_MINUTE", default_value_t = 10)]
    pub recovery_rate_per_minute: u32,

    /// Growing delays after failed sign-ins, per account and per address. Switch off only for
    /// load tests and fuzzing.
    #[arg(long, env = "GATEHOUSE_FAILED_SIGNIN_DELAYS", default_value_t = true, action = clap::ArgAction::Set)]
    pub failed_sign_in_delays: bool,

    /// Folder holding the compiled site (wasm, js, css).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,

    /// Where mail goes: `smtp://[user:pass@]host:port` (STARTTLS when offered),
    /// `…?tls=required`, or `smtps://host:465`. Unset: `.eml` files in `<data dir>/outbox/`.
    #[arg(long, env = "GATEHOUSE_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// The sender of every message, e.g. `Gatehouse <no-reply@example.com>`.
    #[arg(long, env = "GATEHOUSE_MAIL_FROM", default_value = "Gatehouse <gatehouse@localhost>")]
    pub mail_from: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "GATEHOUSE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// The secret that derives a rotated refresh token's successor: base64, at least 32 bytes
    /// (`openssl rand -base64 32`). Every instance needs the same one. When set, the secret
    /// file is not read. Prefer the environment: a flag shows in the process list.
    #[arg(long, env = "GATEHOUSE_REFRESH_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub refresh_secret: Option<SuccessorKey>,

    /// The refresh secret used before GATEHOUSE_REFRESH_SECRET, still followed for racing tabs
    /// while a new one rolls out to every instance.
    #[arg(long, env = "GATEHOUSE_REFRESH_SECRET_PREVIOUS", hide_env_values = true, value_parser = parse_secret)]
    pub refresh_secret_previous: Option<SuccessorKey>,

    /// File with the refresh secret (first line) and optionally the previous one (second line),
    /// read when GATEHOUSE_REFRESH_SECRET is not set. Default: `refresh-secret` in the data
    /// directory. On SQLite it is created (mode 0600) on first start; on PostgreSQL it must
    /// exist, the same for every instance.
    #[arg(long, env = "GATEHOUSE_REFRESH_SECRET_FILE")]
    pub refresh_secret_file: Option<PathBuf>,

    /// While an account is being guessed at, each attempt on it from a device it does not
    /// know is held back, paced up to this long, then checked: slowed, never refused. Devices
    /// that signed in to it before are never held. At most 20s; 0s holds nothing.
    #[arg(long, env = "GATEHOUSE_UNKNOWN_DEVICE_MAX_DELAY", default_value = "10s", value_parser = parse_duration)]
    pub unknown_device_max_delay: Duration,

    /// Live sessions one account may have at once (at least 1). Signing in past it signs out
    /// the least recently used session.
    #[arg(long, env = "GATEHOUSE_MAX_SESSIONS_PER_ACCOUNT", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions_per_account: u32,

    /// Sensitive actions (changing the password or the address, two-step verification on or
    /// off, new recovery codes) need the person to have proved who they are within this long;
    /// otherwise they confirm it first ("Confirm it's you").
    #[arg(long, env = "GATEHOUSE_STEP_UP_MAX_AGE", default_value = "10m", value_parser = parse_duration)]
    pub step_up_max_age: Duration,

    /// Signing in needs a verified email address ("Verify your email address first"): the
    /// link mailed at registration, or a new one from "Resend the link".
    #[arg(long, env = "GATEHOUSE_REQUIRE_VERIFIED_EMAIL", default_value_t = false, action = clap::ArgAction::Set)]
    pub require_verified_email: bool,

    /// How long security events are kept before pruning removes them (at least 90 days).
    #[arg(long, env = "GATEHOUSE_EVENT_RETENTION", default_value = "90d", value_parser = parse_event_retention)]
    pub event_retention: Duration,

    /// How long an ended session (signed out, or past its absolute end) and its spent refresh
    /// tokens are kept. Default and minimum: the access-token lifetime plus 60 s, so a session
    /// is never forgotten while an access token of it could still be presented.
    #[arg(long, env = "GATEHOUSE_ENDED_SESSION_RETENTION", value_parser = parse_duration)]
    pub ended_session_retention: Option<Duration>,

    /// Share the access and refresh cookies with every host under this domain (e.g.
    /// `example.com`), so one sign-in covers the apps behind forward-auth. Unset: cookies are
    /// host-only, nothing changes. Every host under it receives both tokens: name only a
    /// domain whose every host is yours. See docs/forward-auth.md.
    #[arg(long, env = "GATEHOUSE_COOKIE_DOMAIN", value_parser = parse_cookie_domain)]
    pub cookie_domain: Option<String>,

    /// Forward-auth: the hosts a return URL (`rd`) may lead to after signing in, comma-separated:
    /// `app.example.com` (that host) or `.example.com` (every host under it), any port. Empty:
    /// the sign-in page follows no return URL to another host.
    #[arg(long, env = "GATEHOUSE_FORWARD_ALLOWED_HOSTS", value_delimiter = ',', value_parser = crate::server::service::forward::HostPattern::parse)]
    pub forward_allowed_hosts: Vec<crate::server::service::forward::HostPattern>,

    /// Forward-auth: who may enter which host, comma-separated `host=verified` (a verified
    /// address), `host=operator` (an operator) or `host=alice@example.com|@example.org` (these verified addresses or domains);
    /// hosts as in GATEHOUSE_FORWARD_ALLOWED_HOSTS; the first matching rule decides. A host
    /// without a rule admits anyone signed in.
    #[arg(long, env = "GATEHOUSE_FORWARD_RULES", value_delimiter = ',', value_parser = crate::server::service::forward::Rule::parse)]
    pub forward_rules: Vec<crate::server::service::forward::Rule>,

    /// How often the old rows are pruned.
    #[arg(long, env = "GATEHOUSE_PRUNE_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub prune_interval: Duration,
}

impl Config {
    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("gatehouse.db").display()),
        }
    }

    /// Where the refresh secret file is (see `tokens::refresh_secret`).
    pub fn refresh_secret_path(&self) -> PathBuf {
        self.refresh_secret_file.clone().unwrap_or_else(|| self.data_dir.join("refresh-secret"))
    }

    pub fn pool_size(&self) -> crate::server::db::PoolSize {
        crate::server::db::PoolSize { max_connections: self.db_max_connections }
    }

    /// The public origin without a trailing slash.
    pub fn public_origin(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None if self.site_addr.ip().is_loopback() || self.site_addr.ip().is_unspecified() => {
                format!("http://localhost:{}", self.site_addr.port())
            }
            None => format!("http://{}", self.site_addr),
        }
    }

    /// Served over https: cookies get `Secure` and their prefixes.
    pub fn secure_cookies(&self) -> bool {
        self.public_origin().starts_with("https://")
    }

    /// A configuration for tests: temporary data dir, port 0, cheap hashing is NOT used —
    /// tests run the real argon2id parameters unless they say otherwise.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Cli::parse_from(["gatehouse"]).config.with_data_dir(data_dir)
    }

    fn with_data_dir(mut self, data_dir: PathBuf) -> Self {
        self.data_dir = data_dir;
        self.refresh_secret = None;
        self.refresh_secret_previous = None;
        self.refresh_secret_file = None;
        self.database_url = None;
        self.site_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        self.public_url = None;
        self
    }
}

/// Parses `10.0.0.1` or `10.0.0.0/8`.
pub fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{text}` is not an IP address or CIDR range"))
}

/// Parses a cookie domain: a host name, a leading dot allowed and dropped.
pub fn parse_cookie_domain(text: &str) -> Result<String, String> {
    use crate::server::service::forward::HostPattern;
    match HostPattern::parse(text).map_err(|_| format!("`{text}` is not a domain name (`example.com`)"))? {
        HostPattern::Exact(name) => Ok(name),
        HostPattern::Suffix(dotted) => Ok(dotted.trim_start_matches('.').to_owned()),
    }
}

/// Parses a refresh secret (base64, at least 32 bytes).
pub fn parse_secret(text: &str) -> Result<SuccessorKey, String> {
    SuccessorKey::parse(text)
}

/// Security events are kept at least this long (SPEC: "events kept ≥ 90 days").
pub const MIN_EVENT_RETENTION: Duration = Duration::from_secs(90 * 86400);

/// A duration of at least [`MIN_EVENT_RETENTION`].
pub fn parse_event_retention(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d < MIN_EVENT_RETENTION {
        return Err(format!("`{text}` is too short: security events are kept at least 90 days (90d)"));
    }
    Ok(d)
}

/// Parses `15m`, `7d`, `3s`, `0s`, `1h 30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration such as 15m, 7d or 3s ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_spec() {
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn a_refresh_secret_setting_must_be_base64_of_at_least_32_bytes() {
        let key = SuccessorKey::generate();
        // `--name=value`: a random key's text starts with `-` one time in 64 (base64url), which
        // as a separate argument reads as an option.
        let setting = format!("--refresh-secret={}", key.to_text().expose());
        let cli = Cli::try_parse_from(["gatehouse", setting.as_str()]).unwrap();
        assert_eq!(cli.config.refresh_secret.map(|k| k.id()), Some(key.id()));
        use base64::Engine as _;
        let dashed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xf8u8; 32]);
        assert!(dashed.starts_with('-'));
        let cli = Cli::try_parse_from(["gatehouse", format!("--refresh-secret={dashed}").as_str()]).unwrap();
        assert!(cli.config.refresh_secret.is_some(), "a key whose text starts with `-`");
        let error = Cli::try_parse_from(["gatehouse", "--refresh-secret", "c2hvcnQ="]).unwrap_err().to_string();
        assert!(error.contains("--refresh-secret") && error.contains("too short"), "{error}");
        assert!(!format!("{:?}", Cli::try_parse_from(["gatehouse", setting.as_str()]).unwrap())
            .contains(key.to_text().expose()), "Debug of the configuration never shows it");
    }

    #[test]
    fn the_secret_file_defaults_to_the_data_directory() {
        let mut c = Config::for_tests(PathBuf::from("/tmp/x"));
        assert_eq!(c.refresh_secret_path(), PathBuf::from("/tmp/x/refresh-secret"));
        c.refresh_secret_file = Some(PathBuf::from("/run/secrets/gatehouse"));
        assert_eq!(c.refresh_secret_path(), PathBuf::from("/run/secrets/gatehouse"));
    }

    #[test]
    fn events_are_kept_at_least_90_days_and_the_session_cap_is_at_least_one() {
        assert_eq!(parse_event_retention("90d").unwrap(), Duration::from_secs(90 * 86400));
        assert_eq!(parse_event_retention("1y").unwrap(), humantime::parse_duration("1y").unwrap());
        assert!(parse_event_retention("89d").unwrap_err().contains("at least 90 days"));
        let defaults = Cli::parse_from(["gatehouse"]).config;
        assert_eq!((defaults.max_sessions_per_account, defaults.event_retention), (100, MIN_EVENT_RETENTION));
        assert_eq!(defaults.ended_session_retention, None);
        assert!(Cli::try_parse_from(["gatehouse", "--max-sessions-per-account", "0"]).is_err());
        assert!(Cli::try_parse_from(["gatehouse", "--event-retention", "30d"]).is_err());
    }

    #[test]
    fn https_public_url_turns_on_secure_cookies() {
        let mut c = Config::for_tests(PathBuf::from("/tmp/x"));
        assert!(!c.secure_cookies());
        c.public_url = Some("https://auth.example.com/".into());
        assert!(c.secure_cookies());
        assert_eq!(c.public_origin(), "https://auth.example.com");
    }
}
