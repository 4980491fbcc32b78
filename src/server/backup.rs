//! `gatehouse backup FILE` (ssr only): a consistent copy of the SQLite database, taken while
//! the server runs.
//!
//! `VACUUM INTO` reads the database in one read transaction — a snapshot, so writes that
//! commit meanwhile are either wholly in the copy or not at all — and writes a compact,
//! self-contained file (no `-wal` beside it). In WAL mode it never blocks the server's
//! writer. The copy is then opened and checked (`pragma integrity_check`) before the command
//! says it is done. PostgreSQL has `pg_dump` for this (docs/operations.md).

use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions, Connection};
use std::{path::Path, str::FromStr, time::Duration};

/// What a finished copy holds.
#[derive(Debug)]
pub struct Copied {
    pub bytes: u64,
    pub accounts: i64,
}

/// Copies the SQLite database at `url` to `dest`, which must not exist yet.
pub async fn sqlite(url: &str, dest: &Path) -> Result<Copied, String> {
    if dest.exists() {
        return Err(format!("{} exists already; choose a new file (a backup never overwrites)", dest.display()));
    }
    let source = SqliteConnectOptions::from_str(url)
        .map_err(|e| format!("database URL: {e}"))?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(30));
    if !source.get_filename().exists() {
        return Err(format!("no database at {}", source.get_filename().display()));
    }
    let mut conn = source.connect().await.map_err(|e| format!("opening the database: {e}"))?;
    let target = dest.to_str().ok_or_else(|| format!("{} is not a UTF-8 path", dest.display()))?;
    sqlx::query("vacuum into $1").bind(target).execute(&mut conn).await.map_err(|e| format!("copying: {e}"))?;
    conn.close().await.map_err(|e| format!("closing the database: {e}"))?;

    let mut copy = SqliteConnectOptions::new()
        .filename(dest)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| format!("opening the copy: {e}"))?;
    let check: String =
        sqlx::query_scalar("pragma integrity_check").fetch_one(&mut copy).await.map_err(|e| format!("checking the copy: {e}"))?;
    if check != "ok" {
        return Err(format!("the copy failed its integrity check: {check}"));
    }
    let accounts: i64 =
        sqlx::query_scalar("select count(*) from users").fetch_one(&mut copy).await.map_err(|e| format!("reading the copy: {e}"))?;
    copy.close().await.map_err(|e| format!("closing the copy: {e}"))?;
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    Ok(Copied { bytes, accounts })
}
