//! One database handle for both engines.
//!
//! SQLite is the zero-set-up default; PostgreSQL is for deployments where several app instances
//! share one database. All queries go through sqlx's `Any` driver with `$n` placeholders, which
//! both engines accept, so there is one code path; only the migrations differ per engine.
//!
//! SQLite allows one writer at a time. Instead of letting concurrent writers collide and fail
//! with "database is locked", every write transaction is taken on a dedicated single-connection
//! pool, so writes queue in-process; reads use a separate pool and, thanks to WAL, never wait
//! for writers. PostgreSQL handles concurrent writers itself, so both pools are the same pool.

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::borrow::Cow;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> Option<Engine> {
        if url.starts_with("sqlite:") {
            Some(Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

#[derive(Clone)]
pub struct Db {
    engine: Engine,
    url: std::sync::Arc<str>,
    read: AnyPool,
    write: AnyPool,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL must start with sqlite: or postgres:, got {0:?}")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Db {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`). Does not migrate.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let engine = Engine::from_url(url).ok_or_else(|| DbError::UnsupportedUrl(redact(url)))?;
        match engine {
            Engine::Sqlite => {
                let write = sqlite_pool(1).connect(url).await?;
                let read = sqlite_pool(8).connect(url).await?;
                Ok(Db {
                    engine,
                    url: url.into(),
                    read,
                    write,
                })
            }
            Engine::Postgres => {
                // While the database is unreachable a request waits this long for a connection
                // before it is answered 503: long enough to ride out a failover's blip, short
                // enough that a customer is told to try again instead of staring at a spinner.
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(3))
                    .connect(url)
                    .await?;
                Ok(Db {
                    engine,
                    url: url.into(),
                    read: pool.clone(),
                    write: pool,
                })
            }
        }
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The connection URL (with any password): for connections outside the pools, e.g. LISTEN.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The pool for reads. Never write through it: on SQLite writes must take `begin()`.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// For a single write statement that needs no transaction around it (it commits on its
    /// own, saving the BEGIN and COMMIT round trips). On SQLite it is the single writer.
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Starts a write transaction (on SQLite: waits for the single writer connection).
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        self.write.begin().await
    }

    /// A write transaction that takes SQLite's write lock at `BEGIN`, for one that reads before
    /// it writes: a deferred transaction holding a read snapshot cannot wait for the lock when
    /// another process has it (SQLite answers "busy" at once instead of waiting
    /// `busy_timeout`). On PostgreSQL the same as [`Db::begin`].
    pub async fn begin_immediate(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.engine {
            Engine::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await,
            Engine::Postgres => self.write.begin().await,
        }
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        self.engine.migrator().run(&self.write).await?;
        Ok(())
    }

    /// True when the database answers and every migration this build knows is applied.
    ///
    /// Checked on a connection of its own, opened for the check, and given `within` in all:
    /// a readiness probe must answer in well under a second in every state, also when the
    /// pools are exhausted or waiting on a database that went away.
    pub async fn is_ready(&self, within: Duration) -> Result<bool, sqlx::Error> {
        use sqlx::Connection;
        if self.read.is_closed() || self.write.is_closed() {
            // Shutting down: this instance takes no more work, whatever the database says.
            return Err(sqlx::Error::PoolClosed);
        }
        let check = async {
            let mut conn = sqlx::AnyConnection::connect(&self.url).await?;
            let applied: Vec<i64> =
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = $1")
                    .bind(true)
                    .fetch_all(&mut conn)
                    .await?;
            let _ = conn.close().await;
            Ok::<_, sqlx::Error>(applied)
        };
        let applied = tokio::time::timeout(within, check)
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        Ok(self
            .engine
            .migrator()
            .iter()
            .all(|migration| applied.contains(&migration.version)))
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Whether `error` means the database could not be reached or cannot take the work right now
/// (connection lost or refused, pool exhausted, server shutting down, SQLite file locked, disk
/// full or read-only) — as opposed to a bug or a broken invariant. Such errors are answered
/// 503 "try again shortly"; the request may be repeated.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            if let Ok(sqlite) = code.parse::<i64>() {
                // SQLITE_BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN (primary result codes).
                matches!(sqlite & 0xff, 5 | 6 | 8 | 10 | 13 | 14)
            } else {
                // PostgreSQL: connection exceptions, shutdown or start-up in progress, too
                // many connections, out of disk or memory.
                code.starts_with("08") || code.starts_with("57P") || code.starts_with("53")
            }
        }
        _ => false,
    }
}

fn sqlite_pool(max_connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        // sqlx pings an idle connection before handing it out, to find connections the server
        // hung up. An SQLite connection is a file opened in this process, with no server to
        // hang up, and the ping is a round trip to the connection's thread: on the single
        // writer, one more wait per transaction that every other write queues behind.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL: readers never block the writer. busy_timeout: the rare lock held by a
                // WAL checkpoint is waited for instead of failing. NORMAL sync is durable in WAL.
                for pragma in [
                    "PRAGMA journal_mode = WAL",
                    "PRAGMA busy_timeout = 5000",
                    "PRAGMA synchronous = NORMAL",
                    "PRAGMA foreign_keys = ON",
                ] {
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        })
}

/// Write statements of one transaction, sent to the database together.
///
/// Why: sqlx runs each SQLite connection on a thread of its own, so every statement is a
/// round trip from the async task to that thread and back, and SQLite has one writer. While a
/// transaction waits for its task to be scheduled again between two statements, the writer
/// sits idle and every other write waits behind it: under load, a transaction's time on the
/// writer is mostly those waits, one per statement. A batch is one round trip on SQLite: the
/// statements are joined into one script (their `$n` placeholders renumbered into one argument
/// list), which the driver runs back to back on the connection's thread. PostgreSQL's extended
/// protocol takes one statement per message and its writers do not queue behind one another,
/// so there the statements are sent one after another. Either way the caller's transaction
/// makes them atomic.
///
/// Only the last statement may return rows: they are what [`Batch::run`] returns (on SQLite the
/// script's rows are every statement's, so a row from an earlier one would be taken for the
/// last one's).
#[derive(Default)]
pub struct Batch {
    statements: Vec<Statement>,
    /// Whether SQLite keeps the script prepared (`None`: when it is short, see `run`).
    keep_prepared: Option<bool>,
}

struct Statement {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
    postgres_only: bool,
}

/// Batches of up to this many statements stay prepared on SQLite (an order of up to five
/// lines); longer ones are prepared for each use.
const PREPARED_SCRIPT_STATEMENTS: usize = 8;

/// A value bound to a batched statement.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    OptInt(Option<i64>),
    /// Never NULL: sqlx's `Any` sends a NULL `f64` to PostgreSQL as `float4`.
    Real(f64),
    Text(String),
    OptText(Option<String>),
}

impl From<i64> for Arg {
    fn from(value: i64) -> Arg {
        Arg::Int(value)
    }
}

impl From<Option<i64>> for Arg {
    fn from(value: Option<i64>) -> Arg {
        Arg::OptInt(value)
    }
}

impl From<f64> for Arg {
    fn from(value: f64) -> Arg {
        Arg::Real(value)
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Arg {
        Arg::Text(value)
    }
}

impl From<&str> for Arg {
    fn from(value: &str) -> Arg {
        Arg::Text(value.to_string())
    }
}

impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Arg {
        Arg::OptText(value)
    }
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a statement with its own `$1…$n` placeholders and their values.
    pub fn push(&mut self, sql: impl Into<Cow<'static, str>>, args: Vec<Arg>) -> &mut Batch {
        let sql = sql.into();
        // A miscount would shift every later statement's values: checked in every build.
        assert_eq!(
            highest_placeholder(&sql),
            args.len(),
            "placeholders and values of {sql:?}"
        );
        self.statements.push(Statement {
            sql,
            args,
            postgres_only: false,
        });
        self
    }

    /// Adds a statement that only PostgreSQL runs (e.g. a `pg_notify`), without values.
    pub fn push_postgres_only(&mut self, sql: &'static str) -> &mut Batch {
        self.statements.push(Statement {
            sql: sql.into(),
            args: Vec::new(),
            postgres_only: true,
        });
        self
    }

    /// Whether SQLite keeps this batch's script prepared. Batches built for one use (their
    /// SQL made for a number of rows) say `false`, so they do not push the statements that are
    /// used again and again out of the connection's cache.
    pub fn keep_prepared(&mut self, keep: bool) -> &mut Batch {
        self.keep_prepared = Some(keep);
        self
    }

    /// The SQLite script: every statement, placeholders renumbered, and its values in order.
    fn script(self) -> (String, Vec<Arg>) {
        let mut sql = String::new();
        let mut args = Vec::new();
        for statement in self.statements.into_iter().filter(|s| !s.postgres_only) {
            sql.push_str(&renumber(&statement.sql, args.len()));
            sql.push_str(";\n");
            args.extend(statement.args);
        }
        (sql, args)
    }

    /// Runs the statements in `tx`, in order; the rows the last one returned.
    pub async fn run(
        self,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
        assert!(
            self.statements.last().is_none_or(|s| !s.postgres_only),
            "a batch ends with a statement both engines run (its rows are the answer)"
        );
        if tx.backend_name() != "PostgreSQL" {
            // Scripts differ by their number of statements (an order's lines); the common
            // short ones are kept prepared, long ones would only push others out of the cache.
            let persistent = self
                .keep_prepared
                .unwrap_or(self.statements.len() <= PREPARED_SCRIPT_STATEMENTS);
            let (sql, args) = self.script();
            let query = args
                .into_iter()
                .fold(sqlx::query(&sql), bind)
                .persistent(persistent);
            return query.fetch_all(&mut **tx).await;
        }
        let mut rows = Vec::new();
        let persistent = self.keep_prepared.unwrap_or(true);
        for statement in self.statements {
            let query = statement
                .args
                .into_iter()
                .fold(sqlx::query(&statement.sql), bind)
                .persistent(persistent);
            rows = query.fetch_all(&mut **tx).await?;
        }
        Ok(rows)
    }
}

fn bind<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    arg: Arg,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    match arg {
        Arg::Int(value) => query.bind(value),
        Arg::OptInt(value) => query.bind(value),
        Arg::Real(value) => query.bind(value),
        Arg::Text(value) => query.bind(value),
        Arg::OptText(value) => query.bind(value),
    }
}

/// Every `$n` placeholder of `sql`: its byte range and its number. Our statements carry no `$`
/// inside string literals (their values are bound), so every `$` followed by digits is one.
fn numbered_placeholders(sql: &str) -> impl Iterator<Item = (std::ops::Range<usize>, usize)> + '_ {
    let bytes = sql.as_bytes();
    bytes.iter().enumerate().filter_map(move |(at, &b)| {
        if b != b'$' {
            return None;
        }
        let digits = bytes[at + 1..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        let n = sql[at + 1..at + 1 + digits].parse().ok()?;
        Some((at..at + 1 + digits, n))
    })
}

/// `sql` with every `$n` placeholder shifted to `$(n + offset)`.
fn renumber(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut copied = 0;
    for (range, n) in numbered_placeholders(sql) {
        out.push_str(&sql[copied..range.start]);
        out.push_str(&format!("${}", n + offset));
        copied = range.end;
    }
    out.push_str(&sql[copied..]);
    out
}

fn highest_placeholder(sql: &str) -> usize {
    numbered_placeholders(sql)
        .map(|(_, n)| n)
        .max()
        .unwrap_or(0)
}

/// `count` rows of a multi-row `VALUES`, each `row` (written with its own `$1…$k`) with its
/// placeholders shifted past the rows before it: `rows("($1, 'x', $2)", 2)` is
/// `($1, 'x', $2), ($3, 'x', $4)`.
pub fn rows(row: &str, count: usize) -> String {
    let width = highest_placeholder(row);
    (0..count)
        .map(|i| renumber(row, i * width))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `"$from, $from+1, …"`: `count` numbered parameters, for an `IN (…)` list.
pub fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A URL fit for logs: the password, if any, replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_follows_the_url_scheme() {
        assert_eq!(Engine::from_url("sqlite://data/x.db"), Some(Engine::Sqlite));
        assert_eq!(
            Engine::from_url("postgres://u@h/db"),
            Some(Engine::Postgres)
        );
        assert_eq!(Engine::from_url("mysql://u@h/db"), None);
    }

    #[test]
    fn placeholders_are_numbered_from_where_they_start() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 0), "");
        assert_eq!(
            rows("($1, 'x', $2, $1)", 2),
            "($1, 'x', $2, $1), ($3, 'x', $4, $3)"
        );
        assert_eq!(rows("($1)", 0), "");
    }

    #[test]
    fn a_batch_numbers_its_placeholders_into_one_argument_list() {
        let mut batch = Batch::new();
        batch
            .push(
                "INSERT INTO a (x, y) VALUES ($1, $2)",
                vec![1.into(), "b".into()],
            )
            .push_postgres_only("SELECT pg_notify('c', '')")
            .push(
                "UPDATE d SET x = $1 WHERE y = $2 AND z = $1 RETURNING x",
                vec![3.into(), None::<i64>.into()],
            );
        let (sql, args) = batch.script();
        assert_eq!(
            sql,
            "INSERT INTO a (x, y) VALUES ($1, $2);\nUPDATE d SET x = $3 WHERE y = $4 AND z = $3 RETURNING x;\n"
        );
        assert_eq!(args.len(), 4);
        assert_eq!(renumber("$9 $10", 11), "$20 $21");
        assert_eq!(highest_placeholder("VALUES ($1, $12, $3)"), 12);
    }

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact("postgres://bob:secret@h:5432/db"),
            "postgres://bob:***@h:5432/db"
        );
        assert_eq!(redact("postgres://bob@h/db"), "postgres://bob@h/db");
        assert_eq!(redact("sqlite://data/baedal.db"), "sqlite://data/baedal.db");
    }
}
