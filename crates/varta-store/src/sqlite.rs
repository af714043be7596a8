//! The SQLite system of record: schema migrations and every SQL statement of the embedded store.
//!
//! SQLite runs in WAL mode with `synchronous = NORMAL`: a committed transaction survives the process
//! being killed at any moment, which is what the crash-safety guarantee of `varta ingest` rests on.

use crate::{Result, Stats, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use std::collections::HashMap;
use std::path::Path;
use varta_core::{Actor, Claim, Document, Finding, Format};

pub(crate) fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| {
        let full = matches!(
            source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DiskFull)
        );
        if full {
            StoreError::DiskFull {
                what: "database",
                op,
                source: Box::new(source),
            }
        } else {
            StoreError::Database {
                op,
                source: Box::new(source),
            }
        }
    }
}

/// Migrations, applied in order, each once, each in its own transaction. Never edit a released one:
/// add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: documents and actors.
    "CREATE TABLE documents (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        format TEXT NOT NULL,
        actor_id TEXT,
        native_id TEXT,
        url TEXT,
        canonical_url TEXT,
        title TEXT,
        author TEXT,
        text TEXT NOT NULL,
        raw TEXT,
        language TEXT NOT NULL,
        language_confidence REAL NOT NULL,
        published_at INTEGER,
        collected_at INTEGER NOT NULL,
        links TEXT NOT NULL,
        hashtags TEXT NOT NULL,
        mentions TEXT NOT NULL,
        repost_of TEXT,
        forwarded_from TEXT,
        reply_to TEXT,
        content_hash TEXT NOT NULL
    );
    -- No secondary indexes yet: every one costs ingest time, and nothing queries by time or actor
    -- in SQL so far (search filters run in the index). Detectors add the ones they need.
    CREATE TABLE actors (
        id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        handle TEXT,
        display_name TEXT,
        first_seen INTEGER,
        last_seen INTEGER
    );",
    // 2: findings of the detectors; the kind's record is JSON in `body`.
    "CREATE TABLE findings (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        detector TEXT NOT NULL,
        parameters TEXT NOT NULL,
        score REAL NOT NULL,
        first_seen INTEGER,
        created_at INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX findings_kind ON findings(kind, score);",
    // 3: reviewed claims (the record as JSON in `body`) and cached text embeddings, by owner
    // (a claim or document id) and model.
    "CREATE TABLE claims (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        added_at INTEGER NOT NULL
    );
    CREATE TABLE embeddings (
        owner TEXT NOT NULL,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (owner, model)
    ) WITHOUT ROWID;",
    // 4: the documents each finding cites, so that `check` finds findings whose evidence is gone.
    "CREATE TABLE finding_documents (
        finding TEXT NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (finding, document)
    ) WITHOUT ROWID;",
    // 5: the server's access tokens (only a keyed hash of each), and the objects each TAXII
    // collection serves, each version once, with the time it was added (milliseconds, one value
    // per publishing transaction, strictly increasing), the order TAXII clients page in.
    "CREATE TABLE tokens (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        hash BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE taxii_objects (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        version TEXT NOT NULL,
        type TEXT NOT NULL,
        date_added INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (collection, id, version)
    ) WITHOUT ROWID;
    CREATE INDEX taxii_added ON taxii_objects(collection, date_added, id, version);",
];

/// The current schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) struct Db {
    conn: Connection,
}

/// A document as the index needs it, read back in `seq` order for catch-up.
pub(crate) struct IndexRow {
    pub seq: i64,
    pub doc: Document,
    pub actor_handle: Option<String>,
}

fn ts(d: Option<DateTime<Utc>>) -> Option<i64> {
    d.map(|d| d.timestamp())
}

fn from_ts(t: Option<i64>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t, 0))
}

fn to_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".to_string())
}

const DOC_COLUMNS: &str = "seq, id, source, format, actor_id, native_id, url, canonical_url, title, author, text, \
     raw, language, language_confidence, published_at, collected_at, links, hashtags, mentions, repost_of, \
     forwarded_from, reply_to, content_hash";

fn row_to_doc(row: &Row<'_>) -> rusqlite::Result<(i64, Result<Document>)> {
    let seq: i64 = row.get(0)?;
    let id: String = row.get(1)?;
    let format: String = row.get(3)?;
    let list = |i: usize, column: &'static str, id: &str| -> Result<Vec<String>> {
        let s: String = row.get(i).map_err(sql("read row"))?;
        serde_json::from_str(&s).map_err(|e| StoreError::CorruptRow {
            id: id.to_string(),
            column,
            message: e.to_string(),
        })
    };
    let build = || -> Result<Document> {
        Ok(Document {
            format: format
                .parse::<Format>()
                .map_err(|e| StoreError::CorruptRow {
                    id: id.clone(),
                    column: "format",
                    message: e.to_string(),
                })?,
            source: row.get(2).map_err(sql("read row"))?,
            actor_id: row.get(4).map_err(sql("read row"))?,
            native_id: row.get(5).map_err(sql("read row"))?,
            url: row.get(6).map_err(sql("read row"))?,
            canonical_url: row.get(7).map_err(sql("read row"))?,
            title: row.get(8).map_err(sql("read row"))?,
            author: row.get(9).map_err(sql("read row"))?,
            text: row.get(10).map_err(sql("read row"))?,
            raw: row.get(11).map_err(sql("read row"))?,
            language: row.get(12).map_err(sql("read row"))?,
            language_confidence: row.get::<_, f64>(13).map_err(sql("read row"))? as f32,
            published_at: from_ts(row.get(14).map_err(sql("read row"))?),
            collected_at: from_ts(row.get(15).map_err(sql("read row"))?).unwrap_or_default(),
            links: list(16, "links", &id)?,
            hashtags: list(17, "hashtags", &id)?,
            mentions: list(18, "mentions", &id)?,
            repost_of: row.get(19).map_err(sql("read row"))?,
            forwarded_from: row.get(20).map_err(sql("read row"))?,
            reply_to: row.get(21).map_err(sql("read row"))?,
            content_hash: row.get(22).map_err(sql("read row"))?,
            id: id.clone(),
        })
    };
    Ok((seq, build()))
}

impl Db {
    /// Opens (creating) the database for writing and brings its schema up to date. Only the holder
    /// of the data directory's writer lock calls this.
    pub(crate) fn open(path: &Path) -> Result<Db> {
        let conn = Connection::open(path).map_err(sql("open"))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -65536;
             PRAGMA wal_autocheckpoint = 16384;",
        )
        .map_err(sql("configure"))?;
        let mut db = Db { conn };
        db.migrate()?;
        Ok(db)
    }

    /// Opens the database read-only: no migration, no journal change, nothing written, so that a
    /// reader works beside a writer, on a full disk and in a read-only directory. It sees what
    /// was committed (WAL snapshots), never a writer's open transaction.
    pub(crate) fn open_read(path: &Path) -> Result<Db> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let empty = || -> Result<Db> {
            let mut db = Db {
                conn: Connection::open_in_memory().map_err(sql("open"))?,
            };
            db.migrate()?;
            Ok(db)
        };
        let configure = |conn: Connection| -> Result<Db> {
            conn.execute_batch(
                "PRAGMA busy_timeout = 5000;
                 PRAGMA cache_size = -65536;
                 PRAGMA query_only = 1;",
            )
            .map_err(sql("configure"))?;
            let db = Db { conn };
            // Reading the schema version is the first real read: it fails here, not later, when
            // the WAL index cannot be set up. A database without a schema is a store a writer is
            // creating this moment: it holds nothing yet.
            match db.check_schema_for_reading() {
                Err(StoreError::SchemaTooOld { found: 0, .. }) => empty(),
                Err(e) => Err(e),
                Ok(()) => Ok(db),
            }
        };
        if !path.is_file() {
            // Nothing stored yet: an empty database in memory answers as an empty store would,
            // and nothing is created on disk.
            return empty();
        }
        let normal = Connection::open_with_flags(path, flags)
            .map_err(sql("open"))
            .and_then(configure);
        match normal {
            Ok(db) => Ok(db),
            // A WAL database needs its shared-memory file, which a read-only directory (or a full
            // disk) may not let us create. With no write-ahead log left over, the database file
            // alone is the whole committed state, and no writer can be active (it would have
            // created the log): read it as immutable.
            Err(StoreError::Database { .. }) | Err(StoreError::DiskFull { .. })
                if !has_wal(path) =>
            {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                let conn = Connection::open_with_flags(&uri, flags).map_err(sql("open"))?;
                configure(conn)
            }
            Err(e) => Err(e),
        }
    }

    /// The schema version the database is at (0: none yet).
    fn schema_version(&self) -> Result<i64> {
        let read = |q: &str| -> Result<i64> {
            self.conn
                .query_row(q, [], |r| r.get(0))
                .map_err(sql("read schema version"))
        };
        let has_table = read(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        )? > 0;
        if !has_table {
            return Ok(0);
        }
        let current = read("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")?;
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        Ok(current)
    }

    /// The schema a reader can read: exactly this build's.
    fn check_schema_for_reading(&self) -> Result<()> {
        let current = self.schema_version()?;
        if current < SCHEMA_VERSION {
            return Err(StoreError::SchemaTooOld {
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let current = self.schema_version()?;
        // All pending migrations in one transaction: a reader sees a store at one schema or the
        // next, never half way (a new store: no schema, then the whole of it).
        if (current as usize) < MIGRATIONS.len() {
            let tx = self.conn.transaction().map_err(sql("begin migration"))?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            )
            .map_err(sql("create schema_migrations"))?;
            for (i, m) in MIGRATIONS.iter().enumerate().skip(current as usize) {
                let version = i as i64 + 1;
                tx.execute_batch(m).map_err(sql("apply migration"))?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                    params![version, Utc::now().timestamp()],
                )
                .map_err(sql("record migration"))?;
                tracing::info!(version, "applied schema migration");
            }
            tx.commit().map_err(sql("commit migration"))?;
        }
        Ok(())
    }

    /// Inserts the documents not yet stored and updates their actors, in one transaction. Returns, in
    /// input order, the `seq` given to each new document (`None` for a duplicate).
    pub(crate) fn insert(
        &mut self,
        docs: &[Document],
        actors: &[Actor],
    ) -> Result<Vec<Option<i64>>> {
        let tx = self.conn.transaction().map_err(sql("begin batch"))?;
        let mut out = Vec::with_capacity(docs.len());
        let mut seen_actors: HashMap<&str, (Option<i64>, Option<i64>)> = HashMap::new();
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO documents (id, source, format, actor_id, native_id, url, canonical_url, title, \
                     author, text, raw, language, language_confidence, published_at, collected_at, links, \
                     hashtags, mentions, repost_of, forwarded_from, reply_to, content_hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
                     ?19, ?20, ?21, ?22) ON CONFLICT (id) DO NOTHING",
                )
                .map_err(sql("prepare insert"))?;
            for d in docs {
                let n = ins
                    .execute(params![
                        d.id,
                        d.source,
                        d.format.as_str(),
                        d.actor_id,
                        d.native_id,
                        d.url,
                        d.canonical_url,
                        d.title,
                        d.author,
                        d.text,
                        d.raw,
                        d.language,
                        f64::from(d.language_confidence),
                        ts(d.published_at),
                        d.collected_at.timestamp(),
                        to_json(&d.links),
                        to_json(&d.hashtags),
                        to_json(&d.mentions),
                        d.repost_of,
                        d.forwarded_from,
                        d.reply_to,
                        d.content_hash,
                    ])
                    .map_err(sql("insert document"))?;
                if n == 1 {
                    out.push(Some(tx.last_insert_rowid()));
                    // Actors are updated only from documents stored now, so that replaying an input
                    // after a crash applies exactly the updates an uninterrupted run would have.
                    if let Some(a) = &d.actor_id {
                        let t = ts(d.published_at);
                        let e = seen_actors.entry(a.as_str()).or_insert((t, t));
                        e.0 = min_opt(e.0, t);
                        e.1 = max_opt(e.1, t);
                    }
                } else {
                    out.push(None);
                }
            }
            let mut up = tx
                .prepare_cached(
                    "INSERT INTO actors (id, platform, handle, display_name, first_seen, last_seen) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET \
                     handle = COALESCE(excluded.handle, actors.handle), \
                     display_name = COALESCE(excluded.display_name, actors.display_name), \
                     first_seen = CASE WHEN actors.first_seen IS NULL OR excluded.first_seen < actors.first_seen \
                                  THEN COALESCE(excluded.first_seen, actors.first_seen) ELSE actors.first_seen END, \
                     last_seen = CASE WHEN actors.last_seen IS NULL OR excluded.last_seen > actors.last_seen \
                                 THEN COALESCE(excluded.last_seen, actors.last_seen) ELSE actors.last_seen END",
                )
                .map_err(sql("prepare actor upsert"))?;
            for a in actors {
                let Some(&(first, last)) = seen_actors.get(a.id.as_str()) else {
                    continue;
                };
                up.execute(params![
                    a.id,
                    a.platform,
                    a.handle,
                    a.display_name,
                    first,
                    last
                ])
                .map_err(sql("upsert actor"))?;
                // One upsert per actor per batch, whatever its number of documents.
                seen_actors.remove(a.id.as_str());
            }
        }
        tx.commit().map_err(sql("commit batch"))?;
        Ok(out)
    }

    pub(crate) fn get(&self, id: &str) -> Result<Option<Document>> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DOC_COLUMNS} FROM documents WHERE id = ?1"
            ))
            .map_err(sql("prepare get"))?;
        let found = st
            .query_row([id], row_to_doc)
            .optional()
            .map_err(sql("get document"))?;
        found.map(|(_, d)| d).transpose()
    }

    pub(crate) fn get_actor(&self, id: &str) -> Result<Option<Actor>> {
        self.conn
            .query_row(
                "SELECT id, platform, handle, display_name, first_seen, last_seen FROM actors WHERE id = ?1",
                [id],
                |r| {
                    Ok(Actor {
                        id: r.get(0)?,
                        platform: r.get(1)?,
                        handle: r.get(2)?,
                        display_name: r.get(3)?,
                        first_seen: from_ts(r.get(4)?),
                        last_seen: from_ts(r.get(5)?),
                    })
                },
            )
            .optional()
            .map_err(sql("get actor"))
    }

    /// Up to `limit` actors with ids after `after`, by id.
    pub(crate) fn actors_page(&self, after: &str, limit: usize) -> Result<Vec<Actor>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, platform, handle, display_name, first_seen, last_seen FROM actors \
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(sql("prepare actors"))?;
        let rows = st
            .query_map(params![after, limit as i64], |r| {
                Ok(Actor {
                    id: r.get(0)?,
                    platform: r.get(1)?,
                    handle: r.get(2)?,
                    display_name: r.get(3)?,
                    first_seen: from_ts(r.get(4)?),
                    last_seen: from_ts(r.get(5)?),
                })
            })
            .map_err(sql("read actors"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("read actors"))
    }

    pub(crate) fn max_seq(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM documents", [], |r| {
                r.get(0)
            })
            .map_err(sql("read max seq"))
    }

    /// Calls `f` for every document with `seq > after`, in `seq` order, with its actor's handle.
    pub(crate) fn for_each_after(
        &self,
        after: i64,
        mut f: impl FnMut(IndexRow) -> Result<()>,
    ) -> Result<()> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {DOC_COLUMNS}, (SELECT handle FROM actors WHERE actors.id = documents.actor_id) \
                 FROM documents WHERE seq > ?1 ORDER BY seq"
            ))
            .map_err(sql("prepare scan"))?;
        let mut rows = st.query([after]).map_err(sql("scan documents"))?;
        while let Some(row) = rows.next().map_err(sql("scan documents"))? {
            let (seq, doc) = row_to_doc(row).map_err(sql("scan documents"))?;
            let actor_handle: Option<String> = row.get(23).map_err(sql("scan documents"))?;
            f(IndexRow {
                seq,
                doc: doc?,
                actor_handle,
            })?;
        }
        Ok(())
    }

    /// Calls `f` for every document published (or, without a date, collected) at or after
    /// `since`, in `seq` order.
    pub(crate) fn for_each_document(
        &self,
        since: Option<DateTime<Utc>>,
        f: &mut dyn FnMut(Document) -> Result<()>,
    ) -> Result<()> {
        // SQLite reads a negative LIMIT as none.
        self.scan(since, i64::MIN, -1, &mut |_, doc| f(doc))
    }

    /// Up to `limit` documents of [`Db::for_each_document`]'s scan whose storage position
    /// (`seq`) is after `after`, and the position of the last (`after` when none).
    pub(crate) fn documents_page(
        &self,
        since: Option<DateTime<Utc>>,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<Document>, i64)> {
        let (mut docs, mut last) = (Vec::new(), after);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.scan(since, after, limit, &mut |seq, doc| {
            docs.push(doc);
            last = seq;
            Ok(())
        })?;
        Ok((docs, last))
    }

    /// The documents after `seq` `after` dated at or after `since`, at most `limit` of them (all
    /// when negative), in `seq` order.
    fn scan(
        &self,
        since: Option<DateTime<Utc>>,
        after: i64,
        limit: i64,
        f: &mut dyn FnMut(i64, Document) -> Result<()>,
    ) -> Result<()> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DOC_COLUMNS}, NULL FROM documents \
                 WHERE seq > ?2 AND COALESCE(published_at, collected_at) >= ?1 \
                 ORDER BY seq LIMIT ?3"
            ))
            .map_err(sql("prepare document scan"))?;
        let from = since.map_or(i64::MIN, |t| t.timestamp());
        let mut rows = st
            .query(params![from, after, limit])
            .map_err(sql("scan documents"))?;
        while let Some(row) = rows.next().map_err(sql("scan documents"))? {
            let (seq, doc) = row_to_doc(row).map_err(sql("scan documents"))?;
            f(seq, doc?)?;
        }
        Ok(())
    }

    /// Stores findings, replacing those with the same ids, in one transaction.
    pub(crate) fn delete_findings(&mut self, ids: &[&str]) -> Result<usize> {
        let tx = self
            .conn
            .transaction()
            .map_err(sql("begin deleting findings"))?;
        let mut n = 0;
        {
            let mut forget = tx
                .prepare("DELETE FROM finding_documents WHERE finding = ?1")
                .map_err(sql("prepare finding documents"))?;
            let mut gone = tx
                .prepare("DELETE FROM findings WHERE id = ?1")
                .map_err(sql("prepare finding delete"))?;
            for id in ids {
                forget
                    .execute([id])
                    .map_err(sql("delete finding documents"))?;
                n += gone.execute([id]).map_err(sql("delete finding"))?;
            }
        }
        tx.commit().map_err(sql("commit deleting findings"))?;
        Ok(n)
    }

    pub(crate) fn put_findings(&mut self, findings: &[Finding]) -> Result<()> {
        let tx = self.conn.transaction().map_err(sql("begin findings"))?;
        {
            let mut st = tx
                .prepare(
                    "INSERT OR REPLACE INTO findings \
                     (id, kind, detector, parameters, score, first_seen, created_at, body) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(sql("prepare finding insert"))?;
            let mut forget = tx
                .prepare("DELETE FROM finding_documents WHERE finding = ?1")
                .map_err(sql("prepare finding documents"))?;
            let mut cite = tx
                .prepare(
                    "INSERT OR IGNORE INTO finding_documents (finding, document) VALUES (?1, ?2)",
                )
                .map_err(sql("prepare finding documents"))?;
            for f in findings {
                st.execute(params![
                    f.id,
                    f.kind,
                    f.detector,
                    f.parameters.to_string(),
                    f.score,
                    ts(f.first_seen),
                    f.created_at.timestamp(),
                    f.body.to_string(),
                ])
                .map_err(sql("insert finding"))?;
                forget
                    .execute([&f.id])
                    .map_err(sql("replace finding documents"))?;
                for d in &f.documents {
                    cite.execute(params![f.id, d])
                        .map_err(sql("insert finding documents"))?;
                }
            }
        }
        tx.commit().map_err(sql("commit findings"))
    }

    /// Stores the claims whose ids are new; returns how many were.
    pub(crate) fn put_claims(&mut self, claims: &[Claim]) -> Result<usize> {
        let tx = self.conn.transaction().map_err(sql("begin claims"))?;
        let mut added = 0;
        {
            let mut st = tx
                .prepare("INSERT OR IGNORE INTO claims (id, body, added_at) VALUES (?1, ?2, ?3)")
                .map_err(sql("prepare claim insert"))?;
            let now = Utc::now().timestamp();
            for c in claims {
                let body = serde_json::to_string(c).map_err(|e| StoreError::CorruptRow {
                    id: c.id.clone(),
                    column: "body",
                    message: e.to_string(),
                })?;
                added += st
                    .execute(params![c.id, body, now])
                    .map_err(sql("insert claim"))?;
            }
        }
        tx.commit().map_err(sql("commit claims"))?;
        Ok(added)
    }

    /// Every stored claim, in the order added.
    pub(crate) fn claims(&self) -> Result<Vec<Claim>> {
        let mut st = self
            .conn
            .prepare("SELECT id, body FROM claims ORDER BY seq")
            .map_err(sql("prepare claims"))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(sql("read claims"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body) = row.map_err(sql("read claims"))?;
            out.push(
                serde_json::from_str(&body).map_err(|e| StoreError::CorruptRow {
                    id,
                    column: "body",
                    message: e.to_string(),
                })?,
            );
        }
        Ok(out)
    }

    /// Cached embeddings of `owners` under `model`, where present.
    pub(crate) fn embeddings(&self, model: &str, owners: &[&str]) -> Result<Vec<Option<Vec<f32>>>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT vector FROM embeddings WHERE owner = ?1 AND model = ?2")
            .map_err(sql("prepare embeddings"))?;
        let mut out = Vec::with_capacity(owners.len());
        for owner in owners {
            let blob: Option<Vec<u8>> = st
                .query_row(params![owner, model], |r| r.get(0))
                .optional()
                .map_err(sql("read embedding"))?;
            out.push(blob.map(|b| {
                b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            }));
        }
        Ok(out)
    }

    pub(crate) fn put_embeddings(&mut self, model: &str, items: &[(&str, &[f32])]) -> Result<()> {
        let tx = self.conn.transaction().map_err(sql("begin embeddings"))?;
        {
            let mut st = tx
                .prepare(
                    "INSERT OR REPLACE INTO embeddings (owner, model, vector) VALUES (?1, ?2, ?3)",
                )
                .map_err(sql("prepare embedding insert"))?;
            for (owner, v) in items {
                let blob: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                st.execute(params![owner, model, blob])
                    .map_err(sql("insert embedding"))?;
            }
        }
        tx.commit().map_err(sql("commit embeddings"))
    }

    pub(crate) fn volume(&self) -> Result<Vec<crate::Volume>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT COALESCE(published_at, collected_at) / 86400 AS day, source, language, COUNT(*) \
                 FROM documents GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            )
            .map_err(sql("prepare volume"))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(sql("read volume"))?;
        let mut out = Vec::new();
        for row in rows {
            let (day, source, language, n) = row.map_err(sql("read volume"))?;
            let Some(day) = DateTime::from_timestamp(day.saturating_mul(86400), 0) else {
                continue;
            };
            out.push(crate::Volume {
                day: day.date_naive(),
                source,
                language,
                documents: n.max(0) as u64,
            });
        }
        Ok(out)
    }

    pub(crate) fn put_token(&mut self, t: &crate::TokenRecord) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO tokens (name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![t.name, t.role, &t.hash[..], t.created_at.timestamp()],
            )
            .map_err(sql("insert token"))?;
        Ok(n == 1)
    }

    pub(crate) fn tokens(&self) -> Result<Vec<crate::TokenRecord>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT name, role, hash, created_at FROM tokens ORDER BY name")
            .map_err(sql("prepare tokens"))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(sql("read tokens"))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, hash, created) = row.map_err(sql("read tokens"))?;
            let hash: [u8; 32] = hash.try_into().map_err(|_| StoreError::CorruptRow {
                id: name.clone(),
                column: "hash",
                message: "not 32 bytes".into(),
            })?;
            out.push(crate::TokenRecord {
                name,
                role,
                hash,
                created_at: DateTime::from_timestamp(created, 0).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    pub(crate) fn revoke_token(&mut self, name: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM tokens WHERE name = ?1", params![name])
            .map_err(sql("delete token"))?;
        Ok(n == 1)
    }

    pub(crate) fn publish(
        &mut self,
        collection: &str,
        objects: &[crate::TaxiiObject],
    ) -> Result<usize> {
        let tx = self.conn.transaction().map_err(sql("begin publish"))?;
        let mut added = 0;
        {
            // One date for the whole transaction, after every date before it (the clock may
            // stand still or step back): a client that saw the last page of one transaction
            // and asks for what came after never misses the next.
            let last: i64 = tx
                .query_row(
                    "SELECT COALESCE(MAX(date_added), 0) FROM taxii_objects",
                    [],
                    |r| r.get(0),
                )
                .map_err(sql("read last date added"))?;
            let date = Utc::now().timestamp_millis().max(last + 1);
            let mut st = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO taxii_objects (collection, id, version, type, date_added, body) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(sql("prepare publish"))?;
            for o in objects {
                added += st
                    .execute(params![collection, o.id, o.version, o.kind, date, o.body])
                    .map_err(sql("publish object"))?;
            }
        }
        tx.commit().map_err(sql("commit publish"))?;
        Ok(added)
    }

    pub(crate) fn taxii_page(
        &self,
        q: &crate::TaxiiQuery,
    ) -> Result<(Vec<crate::StoredTaxiiObject>, bool)> {
        use rusqlite::types::Value as V;
        let mut sql_text = String::from(
            "SELECT id, version, type, date_added, body FROM taxii_objects t WHERE collection = ?",
        );
        let mut args: Vec<V> = vec![V::Text(q.collection.clone())];
        if let Some(after) = q.added_after_ms {
            sql_text.push_str(" AND date_added > ?");
            args.push(V::Integer(after));
        }
        if let Some(c) = &q.after {
            sql_text.push_str(" AND (date_added, id, version) > (?, ?, ?)");
            args.push(V::Integer(c.date_added_ms));
            args.push(V::Text(c.id.clone()));
            args.push(V::Text(c.version.clone()));
        }
        let list = |sql_text: &mut String, args: &mut Vec<V>, column: &str, values: &[String]| {
            sql_text.push_str(&format!(" AND {column} IN ("));
            for (i, v) in values.iter().enumerate() {
                sql_text.push_str(if i == 0 { "?" } else { ", ?" });
                args.push(V::Text(v.clone()));
            }
            sql_text.push(')');
        };
        if !q.ids.is_empty() {
            list(&mut sql_text, &mut args, "id", &q.ids);
        }
        if !q.types.is_empty() {
            list(&mut sql_text, &mut args, "type", &q.types);
        }
        let v = &q.versions;
        if !v.all {
            let mut alts = Vec::new();
            if v.last || (!v.first && v.exact.is_empty()) {
                alts.push(
                    "version = (SELECT MAX(version) FROM taxii_objects u WHERE u.collection = t.collection AND u.id = t.id)"
                        .to_string(),
                );
            }
            if v.first {
                alts.push(
                    "version = (SELECT MIN(version) FROM taxii_objects u WHERE u.collection = t.collection AND u.id = t.id)"
                        .to_string(),
                );
            }
            if !v.exact.is_empty() {
                let marks = vec!["?"; v.exact.len()].join(", ");
                alts.push(format!("version IN ({marks})"));
                args.extend(v.exact.iter().map(|s| V::Text(s.clone())));
            }
            sql_text.push_str(&format!(" AND ({})", alts.join(" OR ")));
        }
        sql_text.push_str(" ORDER BY date_added, id, version LIMIT ?");
        let limit = q.limit.min(100_000);
        args.push(V::Integer(limit as i64 + 1));
        let mut st = self
            .conn
            .prepare(&sql_text)
            .map_err(sql("prepare taxii page"))?;
        let rows = st
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok(crate::StoredTaxiiObject {
                    object: crate::TaxiiObject {
                        id: r.get(0)?,
                        version: r.get(1)?,
                        kind: r.get(2)?,
                        body: r.get(4)?,
                    },
                    date_added_ms: r.get(3)?,
                })
            })
            .map_err(sql("read taxii page"))?;
        let mut out = Vec::with_capacity(limit.min(1024) + 1);
        for row in rows {
            out.push(row.map_err(sql("read taxii page"))?);
        }
        let more = out.len() > limit;
        out.truncate(limit);
        Ok((out, more))
    }

    /// Findings of a kind (all kinds when `None`), best score first.
    pub(crate) fn findings(&self, kind: Option<&str>) -> Result<Vec<Finding>> {
        self.findings_where(kind, None)
    }

    /// The finding of this id.
    pub(crate) fn finding(&self, id: &str) -> Result<Option<Finding>> {
        Ok(self.findings_where(None, Some(id))?.pop())
    }

    fn findings_where(&self, kind: Option<&str>, id: Option<&str>) -> Result<Vec<Finding>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, kind, detector, parameters, score, first_seen, created_at, body \
                 FROM findings WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR id = ?2) \
                 ORDER BY score DESC, id",
            )
            .map_err(sql("prepare findings"))?;
        let rows = st
            .query_map([kind, id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, f64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })
            .map_err(sql("read findings"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, detector, parameters, score, first_seen, created_at, body) =
                row.map_err(sql("read findings"))?;
            let json = |column: &'static str, text: &str| {
                serde_json::from_str(text).map_err(|e| StoreError::CorruptRow {
                    id: id.clone(),
                    column,
                    message: e.to_string(),
                })
            };
            out.push(Finding {
                documents: self.finding_documents(&id)?,
                parameters: json("parameters", &parameters)?,
                body: json("body", &body)?,
                id: id.clone(),
                kind,
                detector,
                score,
                first_seen: from_ts(first_seen),
                created_at: from_ts(Some(created_at)).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// The documents a finding cites, sorted.
    fn finding_documents(&self, id: &str) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT document FROM finding_documents WHERE finding = ?1 ORDER BY document",
            )
            .map_err(sql("prepare finding documents"))?;
        let rows = st
            .query_map([id], |r| r.get::<_, String>(0))
            .map_err(sql("read finding documents"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("read finding documents"))
    }

    /// Every stored document id, sorted as Rust sorts strings (byte order: SQLite's BINARY
    /// collation on UTF-8 text).
    pub(crate) fn ids_sorted(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM documents ORDER BY id")
            .map_err(sql("prepare id scan"))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql("scan ids"))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(sql("scan ids"))
    }

    /// The documents with these ids as the index needs them (with their actor's handle), in
    /// storage order.
    pub(crate) fn for_index(
        &self,
        ids: &[String],
        mut f: impl FnMut(IndexRow) -> Result<()>,
    ) -> Result<()> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DOC_COLUMNS}, (SELECT handle FROM actors WHERE actors.id = documents.actor_id) \
                 FROM documents WHERE id = ?1"
            ))
            .map_err(sql("prepare index read"))?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let mut found = st.query([id]).map_err(sql("read document"))?;
            if let Some(row) = found.next().map_err(sql("read document"))? {
                let (seq, doc) = row_to_doc(row).map_err(sql("read document"))?;
                let actor_handle: Option<String> = row.get(23).map_err(sql("read document"))?;
                rows.push(IndexRow {
                    seq,
                    doc: doc?,
                    actor_handle,
                });
            }
        }
        rows.sort_by_key(|r| r.seq);
        for r in rows {
            f(r)?;
        }
        Ok(())
    }

    /// Stored findings, and (count, up to `examples` of) those citing a document the record lacks.
    pub(crate) fn findings_citing_missing(
        &self,
        examples: usize,
    ) -> Result<(u64, u64, Vec<String>)> {
        let findings: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM findings", [], |r| r.get(0))
            .map_err(sql("count findings"))?;
        let mut st = self
            .conn
            .prepare(
                "SELECT DISTINCT fd.finding, fd.document FROM finding_documents fd \
                 LEFT JOIN documents d ON d.id = fd.document WHERE d.id IS NULL ORDER BY fd.finding",
            )
            .map_err(sql("prepare findings check"))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(sql("check findings"))?;
        let (mut count, mut last, mut out) = (0u64, None::<String>, Vec::new());
        for row in rows {
            let (finding, document) = row.map_err(sql("check findings"))?;
            if last.as_deref() != Some(finding.as_str()) {
                count += 1;
                if out.len() < examples {
                    out.push(format!(
                        "finding {finding} cites missing document {document}"
                    ));
                }
                last = Some(finding);
            }
        }
        Ok((findings as u64, count, out))
    }

    pub(crate) fn stats(&self) -> Result<Stats> {
        let count = |q: &str| -> Result<u64> {
            self.conn
                .query_row(q, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(sql("count"))
        };
        let group = |q: &str| -> Result<std::collections::BTreeMap<String, u64>> {
            let mut st = self.conn.prepare(q).map_err(sql("prepare stats"))?;
            let rows = st
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })
                .map_err(sql("stats"))?;
            rows.collect::<rusqlite::Result<_>>().map_err(sql("stats"))
        };
        Ok(Stats {
            documents: count("SELECT COUNT(*) FROM documents")?,
            actors: count("SELECT COUNT(*) FROM actors")?,
            languages: group("SELECT language, COUNT(*) FROM documents GROUP BY language")?,
            formats: group("SELECT format, COUNT(*) FROM documents GROUP BY format")?,
        })
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Whether a non-empty write-ahead log sits beside the database.
fn has_wal(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(std::path::PathBuf::from(wal)).is_ok_and(|m| m.len() > 0)
}

/// A path as the path part of an SQLite `file:` URI: everything but unreserved characters and
/// `/` percent-encoded, so that `?`, `#` or `%` in a directory name cannot add URI parameters.
fn uri_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
