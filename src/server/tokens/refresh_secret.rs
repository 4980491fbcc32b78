//! Where the refresh-token successor secret comes from (ssr only).
//!
//! The secret turns a spent refresh token into its successor (`refresh::successor`). Kept in
//! the database beside the token hashes, a dump of it plus one old token from a log would give
//! the live token offline; so it comes from outside the database, the same for every instance:
//!
//! 1. `GATEHOUSE_REFRESH_SECRET` (+ `GATEHOUSE_REFRESH_SECRET_PREVIOUS` while a new one rolls
//!    out), or else
//! 2. the secret file (`GATEHOUSE_REFRESH_SECRET_FILE`, default `<data dir>/refresh-secret`):
//!    the secret on its first line, optionally the previous one on the second, `#` comments.
//!    On SQLite — one instance by construction — a missing file is created on first start,
//!    readable by its owner only. On PostgreSQL, where several instances must agree, start-up
//!    fails instead: an instance inventing its own secret would take every tab racing across
//!    two instances for a thief.
//!
//! `gatehouse keys rotate-secret` writes a new secret to the file and keeps the old one as
//! the previous secret; a restart picks both up.

use super::refresh::{SuccessorKey, SuccessorKeys};
use crate::{
    server::{
        config::Config,
        db::{Db, Kind},
    },
    with_db,
};
use std::{
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
};

/// Where the secrets in use came from, for the start-up log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Setting,
    File(PathBuf),
    /// Created just now (SQLite's first start).
    Created(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Setting => f.write_str("GATEHOUSE_REFRESH_SECRET"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Created(path) => write!(f, "{} (created)", path.display()),
        }
    }
}

const FILE_HEADER: &str = "\
# Gatehouse refresh secret: derives each rotated refresh token's successor.
# Line 1: the secret in use. Line 2 (optional): the previous one, still followed for tabs
# racing a rotation made with it. Keep this file private (mode 0600) and the same on every
# instance. Rotate: gatehouse keys rotate-secret.
";

/// The secrets this instance uses (see the module docs). `database` is the kind of database
/// it runs on. Errors name the setting or the file to fix.
pub fn load(config: &Config, database: Kind) -> Result<(SuccessorKeys, Source), String> {
    if let Some(current) = &config.refresh_secret {
        let keys = SuccessorKeys { current: current.clone(), previous: config.refresh_secret_previous.clone() };
        return Ok((keys, Source::Setting));
    }
    if config.refresh_secret_previous.is_some() {
        return Err("GATEHOUSE_REFRESH_SECRET_PREVIOUS is set without GATEHOUSE_REFRESH_SECRET \
                    (in the secret file, the previous secret is the second line)"
            .into());
    }
    let path = config.refresh_secret_path();
    match read_file(&path)? {
        Some(keys) => Ok((keys, Source::File(path))),
        None if database == Kind::Postgres => Err(format!(
            "on PostgreSQL every instance needs the same refresh secret: set GATEHOUSE_REFRESH_SECRET \
             (`openssl rand -base64 32`) or GATEHOUSE_REFRESH_SECRET_FILE to a file holding it \
             (`gatehouse keys rotate-secret` creates one); there is none at {}",
            path.display()
        )),
        None => {
            let keys = SuccessorKeys::new(SuccessorKey::generate());
            match write_new(&path, &keys) {
                Ok(()) => Ok((keys, Source::Created(path))),
                // Someone else created it a moment ago: theirs it is.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let keys = read_file(&path)?.ok_or_else(|| format!("{} vanished while starting", path.display()))?;
                    Ok((keys, Source::File(path)))
                }
                Err(e) => Err(format!("cannot create the refresh secret file {}: {e}", path.display())),
            }
        }
    }
}

/// `gatehouse keys rotate-secret`: a new secret in the file at `path`, the current one kept as
/// the previous (an older previous one is dropped). Creates the file when there is none.
/// Returns the secrets now in the file.
pub fn rotate_file(path: &Path) -> Result<SuccessorKeys, String> {
    let keys = SuccessorKeys { current: SuccessorKey::generate(), previous: read_file(path)?.map(|old| old.current) };
    let staging = path.with_extension("new");
    // A leftover from an interrupted run holds nothing anyone uses.
    let _ = std::fs::remove_file(&staging);
    write_new(&staging, &keys).map_err(|e| format!("cannot write {}: {e}", staging.display()))?;
    // Renaming over the old file swaps it in one step: a reader sees the old file or the new.
    std::fs::rename(&staging, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    Ok(keys)
}

/// Deletes the secret releases before this one kept in the database. Migration 0009 deleted
/// it once; an instance of the old release restarting during a rolling upgrade writes a new
/// one, which would stay in every later dump. Returns whether there was one.
pub async fn forget_database_copy(db: &Db) -> Result<bool, sqlx::Error> {
    let deleted = with_db!(db.write(), |pool| {
        sqlx::query("delete from server_secrets where name = 'refresh_successor'").execute(pool).await?.rows_affected()
    });
    Ok(deleted > 0)
}

/// The secrets in the file, or None when there is no file.
fn read_file(path: &Path) -> Result<Option<SuccessorKeys>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => zeroize::Zeroizing::new(text),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the refresh secret file {}: {e}", path.display())),
    };
    warn_if_readable_by_others(path);
    parse_file(&text).map(Some).map_err(|e| format!("the refresh secret file {}: {e}", path.display()))
}

/// The file's text: one or two keys, one per line; blank lines and `#` comments ignored.
fn parse_file(text: &str) -> Result<SuccessorKeys, String> {
    let mut keys = text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'));
    let current = keys.next().ok_or("holds no secret")?;
    let current = SuccessorKey::parse(current).map_err(|e| format!("line with the secret: {e}"))?;
    let previous = keys.next().map(SuccessorKey::parse).transpose().map_err(|e| format!("line with the previous secret: {e}"))?;
    if keys.next().is_some() {
        return Err("holds more than two secrets (the one in use, then the previous one)".into());
    }
    Ok(SuccessorKeys { current, previous })
}

/// Creates `path` (never overwriting), readable and writable by its owner only, holding `keys`.
fn write_new(path: &Path, keys: &SuccessorKeys) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let mut text = zeroize::Zeroizing::new(String::from(FILE_HEADER));
    for key in keys.all() {
        text.push_str(key.to_text().expose());
        text.push('\n');
    }
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "the refresh secret file is readable by others; chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> Config {
        Config::for_tests(dir.to_path_buf())
    }

    #[test]
    fn on_sqlite_a_private_file_is_created_once_and_read_back_after() {
        let dir = tempfile::tempdir().unwrap();
        let (keys, source) = load(&config(dir.path()), Kind::Sqlite).unwrap();
        let path = dir.path().join("refresh-secret");
        assert_eq!(source, Source::Created(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (again, source) = load(&config(dir.path()), Kind::Sqlite).unwrap();
        assert_eq!(source, Source::File(path));
        assert_eq!(again.current.expose(), keys.current.expose());
        assert!(again.previous.is_none());
    }

    #[test]
    fn on_postgresql_a_missing_secret_stops_start_up_and_nothing_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let error = load(&config(dir.path()), Kind::Postgres).unwrap_err();
        assert!(error.contains("GATEHOUSE_REFRESH_SECRET") && error.contains("GATEHOUSE_REFRESH_SECRET_FILE"), "{error}");
        assert!(!dir.path().join("refresh-secret").exists());
        // A file put there (the same on every instance) is fine.
        rotate_file(&dir.path().join("refresh-secret")).unwrap();
        assert!(load(&config(dir.path()), Kind::Postgres).is_ok());
    }

    #[test]
    fn the_setting_wins_over_the_file_and_a_previous_setting_needs_a_current_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path());
        let (current, previous) = (SuccessorKey::generate(), SuccessorKey::generate());
        c.refresh_secret = Some(current.clone());
        c.refresh_secret_previous = Some(previous.clone());
        let (keys, source) = load(&c, Kind::Postgres).unwrap();
        assert_eq!(source, Source::Setting);
        assert_eq!(keys.all().map(|k| k.id()).collect::<Vec<_>>(), [current.id(), previous.id()]);
        assert!(!dir.path().join("refresh-secret").exists(), "no file needed");
        c.refresh_secret = None;
        assert!(load(&c, Kind::Sqlite).unwrap_err().contains("GATEHOUSE_REFRESH_SECRET_PREVIOUS"));
    }

    #[test]
    fn rotating_the_file_puts_a_new_secret_first_and_keeps_only_the_one_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("secret");
        let first = rotate_file(&path).unwrap();
        assert!(first.previous.is_none(), "a new file holds one secret");
        let second = rotate_file(&path).unwrap();
        let third = rotate_file(&path).unwrap();
        let read = read_file(&path).unwrap().unwrap();
        assert_eq!(read.current.id(), third.current.id());
        assert_eq!(read.previous.as_ref().map(|k| k.id()), Some(second.current.id()));
        assert_ne!(third.current.id(), second.current.id());
        assert!(!path.with_extension("new").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(!std::fs::read_to_string(&path).unwrap().contains(first.current.to_text().expose()), "gone after two rotations");
    }

    #[test]
    fn the_file_reads_one_or_two_keys_with_comments_and_refuses_anything_else() {
        let (a, b) = (SuccessorKey::generate().to_text(), SuccessorKey::generate().to_text());
        let (a, b) = (a.expose(), b.expose());
        assert!(parse_file(&format!("# note\n\n  {a}  \n")).unwrap().previous.is_none());
        assert!(parse_file(&format!("{a}\n# the old one\n{b}\n")).unwrap().previous.is_some());
        assert!(parse_file("# nothing\n").unwrap_err().contains("no secret"));
        assert!(parse_file(&format!("{a}\n{b}\n{a}\n")).unwrap_err().contains("more than two"));
        assert!(parse_file("c2hvcnQ=\n").unwrap_err().contains("too short"));
    }
}
