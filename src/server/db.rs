//! The database (ssr only): SQLite by default, PostgreSQL when `DATABASE_URL` starts with
//! `postgres://` (or `postgresql://`). Same binary, no feature flag.
//!
//! Every query is written once, in SQL both databases accept (`$1` placeholders, bigint
//! unix seconds, `on conflict`, `returning`), and run through [`with_db!`], which expands
//! the same code once per driver. Each backend keeps its own statically typed sqlx driver,
//! so there is no `sqlx::Any` translation layer on the hot path.
//!
//! SQLite gets two pools: one connection that does every write, and several read-only ones.
//! SQLite lets one writer in at a time anyway; queueing writers in the pool (an async wait)
//! instead of in SQLite's busy handler (which sleeps in steps of milliseconds) is what lets
//! rotations run back to back. PostgreSQL has one pool for both.
//!
//! SQLite's WAL is folded back into the database file by a checkpoint, which ends in an
//! `fsync`. Left to SQLite, the connection whose commit crosses 1,000 pages of WAL runs it,
//! inside that commit: with one writer, every write queued behind it waited for the disk
//! (the 300 ms p99 of rotations). Here a connection of its own checkpoints in the background
//! ([`spawn_checkpoints`]), which never blocks the writer or a reader; the writer keeps
//! SQLite's own checkpoint only as a backstop, at a much larger WAL.

use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous},
};
use crate::server::sessions::swaps::Swaps;
use std::{str::FromStr, time::Duration};

/// The configured database; cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    /// `checkpoints`: the one connection that checkpoints the WAL (`None` in memory);
    /// `swaps`: rotations' writes, gathered for the writer (`sessions::swaps`).
    Sqlite { reads: SqlitePool, writes: SqlitePool, checkpoints: Option<SqlitePool>, swaps: Swaps },
    Postgres(PgPool),
}

/// One concrete pool, for [`with_db!`].
pub enum Pool<'a> {
    Sqlite(&'a SqlitePool),
    Postgres(&'a PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool behind a [`Pool`]:
/// `with_db!(db.read(), |pool| sqlx::query("…").fetch_one(pool).await)`.
/// The body is compiled once for SQLite and once for PostgreSQL; `?` and `return` act on the
/// enclosing function, and a transaction is `let mut tx = pool.begin().await?;` as usual.
#[macro_export]
macro_rules! with_db {
    ($target:expr, |$pool:ident| $body:expr) => {
        match $target {
            $crate::server::db::Pool::Sqlite($pool) => $body,
            $crate::server::db::Pool::Postgres($pool) => $body,
        }
    };
}

/// A transaction on the writing pool, for work spread over several functions
/// (`sessions::start` and `events::record` in one sign-in, say).
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the connection inside a `&mut Tx`:
/// `with_tx!(tx, |conn| sqlx::query("…").execute(&mut *conn).await)`.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::server::db::Tx::Sqlite(t) => {
                let $conn: &mut sqlx::SqliteConnection = &mut **t;
                $body
            }
            $crate::server::db::Tx::Postgres(t) => {
                let $conn: &mut sqlx::PgConnection = &mut **t;
                $body
            }
        }
    };
}

/// A database fault is logged here and reaches the client only as a generic message.
impl From<sqlx::Error> for crate::error::AppError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(error = %err, "database error");
        crate::error::AppError::Internal
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Tx::Postgres(_))
    }
}

/// Which database a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    pub fn of(url: &str) -> Kind {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Kind::Postgres
        } else {
            Kind::Sqlite
        }
    }
}

/// Connection counts. SQLite: readers (the writer is always one connection).
#[derive(Debug, Clone, Copy)]
pub struct PoolSize {
    pub max_connections: u32,
}

impl Default for PoolSize {
    fn default() -> Self {
        PoolSize { max_connections: 8 }
    }
}

impl Db {
    /// The pool for queries that only read.
    pub fn read(&self) -> Pool<'_> {
        match self {
            Db::Sqlite { reads, .. } => Pool::Sqlite(reads),
            Db::Postgres(pool) => Pool::Postgres(pool),
        }
    }

    /// The pool for anything that writes (and for reads that must see the latest write
    /// inside the same transaction).
    pub fn write(&self) -> Pool<'_> {
        match self {
            Db::Sqlite { writes, .. } => Pool::Sqlite(writes),
            Db::Postgres(pool) => Pool::Postgres(pool),
        }
    }

    /// Starts a transaction on the writing pool.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { writes, .. } => Tx::Sqlite(writes.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Db::Sqlite { .. } => Kind::Sqlite,
            Db::Postgres(_) => Kind::Postgres,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.kind() == Kind::Postgres
    }

    /// The PostgreSQL pool, for what only PostgreSQL has (LISTEN/NOTIFY).
    pub fn postgres(&self) -> Option<&PgPool> {
        match self {
            Db::Postgres(pool) => Some(pool),
            Db::Sqlite { .. } => None,
        }
    }

    /// Closes every connection (tests use this to stop an instance cleanly).
    pub async fn close(&self) {
        match self {
            Db::Sqlite { reads, writes, checkpoints, .. } => {
                reads.close().await;
                writes.close().await;
                if let Some(pool) = checkpoints {
                    pool.close().await;
                }
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// Opens the database the URL names (creating a SQLite file when missing).
pub async fn connect(url: &str, size: PoolSize) -> Result<Db, sqlx::Error> {
    match Kind::of(url) {
        Kind::Sqlite => connect_sqlite(url, size).await,
        Kind::Postgres => connect_postgres(url, size).await,
    }
}

async fn connect_sqlite(url: &str, size: PoolSize) -> Result<Db, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        // WAL lets readers go on while one writer commits; NORMAL is durable at checkpoints
        // and the usual pairing with WAL.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Memory-map the file so reads of a big database come from the kernel's page cache
        // without a copy per page; SQLite's own per-connection cache can then stay small
        // (1 MiB instead of 2 MiB, times every connection).
        .pragma("mmap_size", "268435456")
        .pragma("cache_size", "-1024");
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if !in_memory {
        if let Some(path) = options.get_filename().parent() {
            if !path.as_os_str().is_empty() {
                std::fs::create_dir_all(path).map_err(sqlx::Error::Io)?;
            }
        }
    }
    // A request that waits this long for a connection fails (500, logged as a pool time-out)
    // before the 30 s request limit: a stall names its cause instead of ending as a bare 408.
    let acquire_timeout = Duration::from_secs(15);
    // No ping before handing out a connection (sqlx's default): an SQLite connection is a
    // thread of ours on a local file, and the ping was a round trip to that thread before
    // every query — half the thread hops of a rotation.
    let writes = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(acquire_timeout)
        .connect_with(options.clone().pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES.to_string()))
        .await?;
    if in_memory {
        // Every connection to `:memory:` is its own database: share the one writer.
        let swaps = Swaps::spawn(writes.clone());
        return Ok(Db::Sqlite { reads: writes.clone(), writes, checkpoints: None, swaps });
    }
    let checkpoints = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .test_before_acquire(false)
        .acquire_timeout(acquire_timeout)
        .connect_with(options.clone())
        .await?;
    // Each SQLite connection has its own thread and cache; more readers than twice the CPUs
    // only add memory and context switches.
    let cpus = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2);
    let reads = SqlitePoolOptions::new()
        .max_connections(size.max_connections.clamp(1, 2 * cpus))
        .min_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(acquire_timeout)
        .connect_with(options.read_only(true))
        .await?;
    let swaps = Swaps::spawn(writes.clone());
    Ok(Db::Sqlite { reads, writes, checkpoints: Some(checkpoints), swaps })
}

/// How often the background checkpoint runs: it also bounds what a power loss can take with
/// `synchronous=NORMAL` (commits since the last checkpoint), as SQLite's own checkpoint did
/// (every ~170 rotations, a fraction of a second at full load).
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// The writer checkpoints by itself only past this many pages of WAL (16 MiB of 4 KiB pages;
/// SQLite's default is 1,000): the backstop for when the background checkpoints fall behind
/// or are not running (`gatehouse` commands other than `serve`).
const WRITER_CHECKPOINT_PAGES: u32 = 4096;

/// Checkpoints the SQLite WAL every [`CHECKPOINT_EVERY`] on a connection of its own, in
/// `PASSIVE` mode: it copies what no reader still needs into the database file and syncs it,
/// without waiting for — or blocking — the writer or any reader. When it has copied all of
/// it, the writer's next commit starts the WAL over from its beginning. Nothing to do on
/// PostgreSQL or in memory (`None`).
pub fn spawn_checkpoints(db: &Db) -> Option<tokio::task::JoinHandle<()>> {
    let Db::Sqlite { checkpoints: Some(pool), .. } = db else { return None };
    let pool = pool.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // (busy, frames in the WAL, frames checkpointed); busy is never set in PASSIVE mode.
            match sqlx::query_as::<_, (i64, i64, i64)>("pragma wal_checkpoint(passive)").fetch_one(&pool).await {
                Ok((_, log, done)) if log > done => tracing::debug!(log, done, "WAL checkpoint left frames readers still use"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
            }
        }
    }))
}

async fn connect_postgres(url: &str, size: PoolSize) -> Result<Db, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("gatehouse");
    let pool = PgPoolOptions::new()
        .max_connections(size.max_connections.max(2))
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?;
    Ok(Db::Postgres(pool))
}

/// Applies every migration not yet applied. Safe when several instances start at once:
/// on PostgreSQL sqlx holds an advisory lock while it migrates; a SQLite file belongs to
/// one instance.
pub async fn migrate(db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
    match db {
        Db::Sqlite { writes, .. } => sqlx::migrate!("./migrations/sqlite").run(writes).await,
        Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
    }
}

/// True when the database answers (the readiness check).
pub async fn ping(db: &Db) -> bool {
    let answer: Result<i32, sqlx::Error> =
        with_db!(db.read(), |pool| sqlx::query_scalar("select 1").fetch_one(pool).await);
    if let Err(e) = &answer {
        tracing::warn!(error = %e, "readiness check failed");
    }
    answer.is_ok()
}

/// True when the error is a unique-constraint violation (e.g. an email already taken).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_picks_the_database() {
        assert_eq!(Kind::of("postgres://u@localhost/db"), Kind::Postgres);
        assert_eq!(Kind::of("postgresql://u@localhost/db"), Kind::Postgres);
        assert_eq!(Kind::of("sqlite://data/gatehouse.db"), Kind::Sqlite);
        assert_eq!(Kind::of("sqlite::memory:"), Kind::Sqlite);
        assert_eq!(Kind::of("data/gatehouse.db"), Kind::Sqlite);
    }

    #[tokio::test]
    async fn reads_cannot_write_and_writes_are_seen_by_reads() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = connect(&url, PoolSize::default()).await.unwrap();
        migrate(&db).await.unwrap();
        let write = |pool| async move {
            sqlx::query("insert into server_secrets (name, value, created_at) values ('x', x'00', 0)")
                .execute(pool)
                .await
        };
        let Db::Sqlite { reads, writes, .. } = &db else { unreachable!() };
        assert!(write(reads).await.is_err(), "the read pool is read-only");
        write(writes).await.unwrap();
        let n: i64 = with_db!(db.read(), |pool| sqlx::query_scalar("select count(*) from server_secrets where name = 'x'")
            .fetch_one(pool)
            .await)
        .unwrap();
        assert_eq!(n, 1);
        assert!(ping(&db).await);
    }
}
