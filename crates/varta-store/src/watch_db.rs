//! The watcher's journal: what `varta watch` must remember across restarts that is not a
//! document or a finding, in its own SQLite file beside the store (`watch.sqlite3`).
//!
//! - each source's polling state (validators, next poll, failures, last error), which
//!   `varta watch --status` and the dashboard show;
//! - what was already taken from folders and sitemaps;
//! - how far detection has read the store (a document sequence number);
//! - the alert outbox: every alert to deliver, per sink, until it is delivered or given up.
//!
//! It is a file of its own, not tables in the store, because it changes every few seconds while
//! the store's writer lock is shared with `serve` and the CLI: the watcher's bookkeeping never
//! waits for, or holds up, anyone else's write. One watcher per data directory
//! ([`WatchDb::open`] takes `watch.lock`). Detection queues its alerts and moves its cursor in
//! one transaction ([`WatchDb::commit_batch`]), so that after a crash the batch is detected again
//! and its alerts, whose ids are stable, are queued once.

use crate::sqlite::sql;
use crate::{Result, StoreError};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::fs::File;
use std::path::Path;

/// File name of the journal inside a data directory.
pub const WATCH_DB: &str = "watch.sqlite3";
const WATCH_LOCK: &str = "watch.lock";

/// An alert waiting in (or gone through) the outbox, for one sink.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    /// The alert's stable id (the CloudEvent `id`).
    pub id: String,
    /// Which sink: the index of its `[[alert]]` entry, as text.
    pub sink: String,
    /// The CloudEvent, as sent.
    pub body: String,
    pub attempts: u32,
    /// When it may next be tried (ms since the epoch).
    pub due_ms: i64,
    pub last_error: Option<String>,
}

/// How many alerts are where.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
}

/// The journal, open for writing (the watcher) or reading (`--status`, the dashboard).
pub struct WatchDb {
    conn: Connection,
    _lock: Option<File>,
}

impl WatchDb {
    /// Opens the journal of the watcher of `dir` for writing, creating it. Fails with
    /// [`StoreError::Busy`] when another watcher runs on the directory.
    pub fn open(dir: &Path) -> Result<WatchDb> {
        let io = |source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(WATCH_LOCK))
            .map_err(io)?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Busy {
                dir: dir.display().to_string(),
                holder: "another varta watch".into(),
            });
        }
        let conn = Connection::open(dir.join(WATCH_DB)).map_err(sql("open watch journal"))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS sources (key TEXT PRIMARY KEY, state TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS seen (kind TEXT NOT NULL, key TEXT NOT NULL,
                 value TEXT NOT NULL, PRIMARY KEY (kind, key));
             CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS outbox (id TEXT NOT NULL, sink TEXT NOT NULL,
                 body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                 due_ms INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
                 last_error TEXT, created_ms INTEGER NOT NULL, done_ms INTEGER,
                 PRIMARY KEY (id, sink));
             CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, due_ms);",
        )
        .map_err(sql("create watch journal"))?;
        Ok(WatchDb {
            conn,
            _lock: Some(lock),
        })
    }

    /// A second connection for writing, for another thread of the process that holds the
    /// journal ([`WatchDb::open`] first): the alert delivery thread.
    pub fn open_unlocked(dir: &Path) -> Result<WatchDb> {
        let conn = Connection::open(dir.join(WATCH_DB)).map_err(sql("open watch journal"))?;
        conn.execute_batch("PRAGMA busy_timeout = 5000;")
            .map_err(sql("configure watch journal"))?;
        Ok(WatchDb { conn, _lock: None })
    }

    /// Opens the journal for reading; `None` when no watcher ever ran on `dir`.
    pub fn open_read(dir: &Path) -> Result<Option<WatchDb>> {
        let path = dir.join(WATCH_DB);
        if !path.is_file() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql("open watch journal"))?;
        conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA query_only = 1;")
            .map_err(sql("configure watch journal"))?;
        Ok(Some(WatchDb { conn, _lock: None }))
    }

    /// Whether a watcher holds the directory now.
    pub fn running(dir: &Path) -> bool {
        match File::open(dir.join(WATCH_LOCK)) {
            Ok(f) => match f.try_lock_shared() {
                Ok(()) => false,
                Err(std::fs::TryLockError::WouldBlock) => true,
                Err(_) => false,
            },
            Err(_) => false,
        }
    }

    /// A source's state (JSON), as last saved.
    pub fn source(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT state FROM sources WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql("read source state"))
    }

    /// Every source's state, by key.
    pub fn sources(&self) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT key, state FROM sources ORDER BY key")
            .map_err(sql("read source states"))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql("read source states"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("read source states"))
    }

    pub fn put_source(&self, key: &str, state: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO sources (key, state) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET state = excluded.state",
                params![key, state],
            )
            .map_err(sql("save source state"))?;
        Ok(())
    }

    /// What was recorded for `key` of `kind` (a file's size and time, a listed URL).
    pub fn seen(&self, kind: &str, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT value FROM seen WHERE kind = ?1 AND key = ?2",
                params![kind, key],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read seen"))
    }

    pub fn put_seen(&self, kind: &str, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO seen (kind, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
                params![kind, key, value],
            )
            .map_err(sql("save seen"))?;
        Ok(())
    }

    pub fn get(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(sql("read watch state"))
    }

    pub fn put(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO kv (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(sql("save watch state"))?;
        Ok(())
    }

    /// In one transaction: queues `alerts` (an id already queued for a sink is left as it is),
    /// saves `state` (key/value pairs) — detection's cursor, the alert bookkeeping.
    pub fn commit_batch(
        &mut self,
        alerts: &[(String, String, String)],
        state: &[(String, String)],
        now_ms: i64,
    ) -> Result<usize> {
        let tx = self.conn.transaction().map_err(sql("begin watch batch"))?;
        let mut queued = 0;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO outbox (id, sink, body, due_ms, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                )
                .map_err(sql("queue alert"))?;
            for (id, sink, body) in alerts {
                queued += ins
                    .execute(params![id, sink, body, now_ms])
                    .map_err(sql("queue alert"))?;
            }
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO kv (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .map_err(sql("save watch state"))?;
            for (k, v) in state {
                put.execute(params![k, v])
                    .map_err(sql("save watch state"))?;
            }
        }
        tx.commit().map_err(sql("commit watch batch"))?;
        Ok(queued)
    }

    /// Pending alerts due at `now_ms`, oldest first, at most `limit`.
    pub fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxItem>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, sink, body, attempts, due_ms, last_error FROM outbox
                 WHERE state = 'pending' AND due_ms <= ?1 ORDER BY due_ms, created_ms LIMIT ?2",
            )
            .map_err(sql("read outbox"))?;
        let rows = st
            .query_map(
                params![now_ms, i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| {
                    Ok(OutboxItem {
                        id: r.get(0)?,
                        sink: r.get(1)?,
                        body: r.get(2)?,
                        attempts: r.get(3)?,
                        due_ms: r.get(4)?,
                        last_error: r.get(5)?,
                    })
                },
            )
            .map_err(sql("read outbox"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("read outbox"))
    }

    /// The earliest time a pending alert is due, if any.
    pub fn next_due(&self) -> Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT MIN(due_ms) FROM outbox WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
            .map_err(sql("read outbox"))
    }

    pub fn delivered(&self, id: &str, sink: &str, now_ms: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE outbox SET state = 'delivered', done_ms = ?3, attempts = attempts + 1
                 WHERE id = ?1 AND sink = ?2",
                params![id, sink, now_ms],
            )
            .map_err(sql("mark alert delivered"))?;
        Ok(())
    }

    /// A failed attempt: tried again at `due_ms`, or given up (`dead`).
    pub fn failed(&self, id: &str, sink: &str, error: &str, due_ms: i64, dead: bool) -> Result<()> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?3, due_ms = ?4,
                     state = CASE WHEN ?5 THEN 'dead' ELSE 'pending' END,
                     done_ms = CASE WHEN ?5 THEN ?4 ELSE NULL END
                 WHERE id = ?1 AND sink = ?2",
                params![id, sink, error, due_ms, dead],
            )
            .map_err(sql("mark alert failed"))?;
        Ok(())
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        let mut st = self
            .conn
            .prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state")
            .map_err(sql("count outbox"))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(sql("count outbox"))?;
        let mut c = OutboxCounts::default();
        for row in rows {
            let (state, n) = row.map_err(sql("count outbox"))?;
            let n = u64::try_from(n).unwrap_or(0);
            match state.as_str() {
                "pending" => c.pending = n,
                "delivered" => c.delivered = n,
                _ => c.dead += n,
            }
        }
        Ok(c)
    }

    /// Forgets delivered and dead alerts done before `before_ms` (their ids stay stable; the
    /// detection bookkeeping, not the outbox, keeps them from being queued again).
    pub fn prune(&self, before_ms: i64) -> Result<usize> {
        self.conn
            .execute(
                "DELETE FROM outbox WHERE state != 'pending' AND done_ms < ?1",
                [before_ms],
            )
            .map_err(sql("prune outbox"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_round_trip_and_one_watcher() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = WatchDb::open(dir.path()).unwrap();
        assert!(WatchDb::running(dir.path()));
        assert!(matches!(
            WatchDb::open(dir.path()),
            Err(StoreError::Busy { .. })
        ));
        let a = ("a1".to_string(), "0".to_string(), "{}".to_string());
        let st = [("cursor".to_string(), "7".to_string())];
        assert_eq!(
            db.commit_batch(std::slice::from_ref(&a), &st, 100).unwrap(),
            1
        );
        // The same alert again (a batch detected twice after a crash) is not queued twice.
        assert_eq!(db.commit_batch(&[a], &st, 200).unwrap(), 0);
        assert_eq!(db.get("cursor").unwrap().as_deref(), Some("7"));
        let due = db.due(150, 10).unwrap();
        assert_eq!(due.len(), 1);
        db.failed("a1", "0", "HTTP 500", 400, false).unwrap();
        assert!(db.due(300, 10).unwrap().is_empty());
        assert_eq!(db.next_due().unwrap(), Some(400));
        db.delivered("a1", "0", 450).unwrap();
        let c = db.outbox_counts().unwrap();
        assert_eq!((c.pending, c.delivered, c.dead), (0, 1, 0));
        let r = WatchDb::open_read(dir.path()).unwrap().unwrap();
        assert_eq!(r.outbox_counts().unwrap().delivered, 1);
        drop(db);
        assert!(!WatchDb::running(dir.path()));
    }
}
