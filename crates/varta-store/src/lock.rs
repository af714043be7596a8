//! The writer lock of a data directory: one writing process at a time, any number of readers.
//!
//! An advisory `flock` on `<data dir>/varta.lock`, taken by every process that writes (ingest,
//! detectors, claims import, models install). The kernel releases it when the holder exits, however
//! it exits (`kill -9` included), so a crashed writer never leaves a lock that blocks the next one.
//! The holder writes its pid and command into the file, so that a second writer can say whom it
//! waits for; the content is only ever informative, the `flock` alone decides.

use crate::{Result, StoreError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside a data directory.
pub const LOCK_FILE: &str = "varta.lock";

/// Who holds (or last held) the writer lock, as it wrote into the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: u32,
    pub command: String,
    /// RFC 3339 time the holder took the lock.
    pub since: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pid == 0 {
            return write!(f, "another process");
        }
        write!(f, "pid {} ({})", self.pid, self.command)?;
        if !self.since.is_empty() {
            write!(f, " since {}", self.since)?;
        }
        Ok(())
    }
}

impl LockHolder {
    /// Reads what a holder wrote. Anyone who can write the data directory can write this file,
    /// and it is printed to a terminal: control characters are dropped.
    fn parse(text: &str) -> LockHolder {
        let clean = |l: Option<&str>| -> String {
            l.unwrap_or("")
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .collect()
        };
        let mut lines = text.lines();
        let pid = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        let command = clean(lines.next());
        let since = clean(lines.next());
        LockHolder {
            pid,
            command,
            since,
        }
    }
}

/// What to do when another process holds the lock.
pub enum Wait<'a> {
    /// Fail at once with [`StoreError::Busy`].
    No,
    /// Call the function once with the holder, then block until the lock is free.
    Yes(&'a mut dyn FnMut(&LockHolder)),
}

/// The writer lock, held until dropped.
#[derive(Debug)]
pub struct WriteLock {
    file: File,
    path: PathBuf,
}

impl WriteLock {
    /// Takes the writer lock of `dir` (created when missing) for `command`.
    pub fn acquire(dir: &Path, command: &str, wait: Wait<'_>) -> Result<WriteLock> {
        let io = |source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file);
                match wait {
                    Wait::No => {
                        return Err(StoreError::Busy {
                            dir: dir.display().to_string(),
                            holder: holder.to_string(),
                        });
                    }
                    Wait::Yes(notify) => {
                        notify(&holder);
                        file.lock().map_err(io)?;
                    }
                }
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // One line each; a command with line breaks would blur the fields.
        let command: String = command
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(500)
            .collect();
        let info = format!("{}\n{command}\n{since}\n", std::process::id());
        // Informative only: a full disk must not stop a writer from taking the lock (it then fails
        // on its first real write, with a clear error), so failures to record it are ignored.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(info.as_bytes()));
        Ok(WriteLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whoever holds the lock of `dir` now, if anyone does (a probe: takes nothing).
    pub fn holder(dir: &Path) -> Option<LockHolder> {
        let mut file = File::open(dir.join(LOCK_FILE)).ok()?;
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                None
            }
            Err(std::fs::TryLockError::WouldBlock) => Some(read_holder(&mut file)),
            Err(std::fs::TryLockError::Error(_)) => None,
        }
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first lets a waiter in before our
        // remaining teardown.
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> LockHolder {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.take(4096).read_to_string(&mut text);
    LockHolder::parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_writer_is_refused_then_admitted() {
        let dir = tempfile::tempdir().unwrap();
        let first = WriteLock::acquire(dir.path(), "varta ingest a.csv", Wait::No).unwrap();
        let holder = WriteLock::holder(dir.path()).unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.command, "varta ingest a.csv");
        match WriteLock::acquire(dir.path(), "varta ingest b.csv", Wait::No) {
            Err(StoreError::Busy { holder, .. }) => {
                assert!(holder.contains("varta ingest a.csv"), "{holder}")
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        drop(first);
        assert!(WriteLock::holder(dir.path()).is_none());
        let second = WriteLock::acquire(dir.path(), "varta ingest b.csv", Wait::No).unwrap();
        drop(second);
    }

    #[test]
    fn a_hostile_lock_file_prints_no_control_characters() {
        let h = LockHolder::parse("12\nvarta \u{1b}[31mingest\u{7}\n2026\u{1b}]0;x\n");
        assert_eq!(h.pid, 12);
        assert_eq!(h.command, "varta [31mingest");
        assert!(!h.to_string().chars().any(char::is_control));
        assert_eq!(LockHolder::parse("garbage").to_string(), "another process");
    }

    #[test]
    fn a_waiter_is_told_whom_it_waits_for() {
        let dir = tempfile::tempdir().unwrap();
        let first = WriteLock::acquire(dir.path(), "first", Wait::No).unwrap();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            let mut seen = None;
            let mut note = |h: &LockHolder| seen = Some(h.command.clone());
            let lock = WriteLock::acquire(&path, "second", Wait::Yes(&mut note)).unwrap();
            drop(lock);
            seen
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(first);
        assert_eq!(waiter.join().unwrap().as_deref(), Some("first"));
    }
}
