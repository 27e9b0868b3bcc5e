//! Results kept until the master acks them, and the job ids this minion has
//! started, so a job is never run twice (a replayed or resent job gets the
//! stored result again instead).
//!
//! Started ids are lines appended to `jobs.log`: a file per job made every
//! `test.ping` cost an inode, and at thousands of minions per disk (a swarm)
//! creating and deleting them was most of a ping's time. The log keeps the
//! newest [`KEEP_STARTED`] ids; a job id older than all of them is refused
//! as too old, so dropping old lines never lets a replay through (job ids
//! only increase on a master).
//!
//! Results of jobs that changed the host are files, fsynced before they are
//! sent; results of read-only functions stay in memory (resent after a
//! reconnect, lost if the minion itself restarts: they are cheap to ask for
//! again).
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use transport::wire::{self, Jid, JobReturn};

/// How many started job ids are remembered.
pub const KEEP_STARTED: usize = 10_000;

pub struct Outbox {
    returns: PathBuf,
    log_path: PathBuf,
    started: Mutex<Started>,
    in_memory: Mutex<BTreeMap<Jid, JobReturn>>,
}

struct Started {
    ids: BTreeSet<Jid>,
    /// Ids at or below this were forgotten: refused as too old.
    floor: Option<Jid>,
}

/// Whether [`Outbox::start`] may run a job.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    New,
    SeenBefore,
    TooOld,
}

impl Outbox {
    pub fn open(cachedir: &Path) -> std::io::Result<Outbox> {
        let returns = cachedir.join("outbox");
        fs::create_dir_all(&returns)?;
        let log_path = cachedir.join("jobs.log");
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let mut ids = BTreeSet::new();
        let mut floor = None;
        // A line that is not a job id (a torn write) is skipped.
        for line in text.lines() {
            match line.strip_prefix("floor ").map(Jid::parse) {
                Some(Ok(f)) => floor = Some(f),
                Some(Err(_)) => {}
                None => ids.extend(Jid::parse(line)),
            }
        }
        // Temp files of results being stored when the minion died: the
        // result itself was not kept (the job is not run again either).
        for entry in fs::read_dir(&returns)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
        let outbox = Outbox {
            returns,
            log_path,
            started: Mutex::new(Started { ids, floor }),
            in_memory: Mutex::new(BTreeMap::new()),
        };
        outbox.compact_if_needed()?;
        Ok(outbox)
    }

    /// Marks `jid` started, unless it was started before or is older than
    /// every id remembered.
    pub fn start(&self, jid: &Jid) -> std::io::Result<Start> {
        let mut s = self.started.lock().unwrap();
        if s.ids.contains(jid) {
            return Ok(Start::SeenBefore);
        }
        if s.floor.as_ref().is_some_and(|f| jid <= f) {
            return Ok(Start::TooOld);
        }
        // Opened per append, not held: a swarm runs thousands of minions in
        // one process, and a held file each would double its descriptors.
        self.append_started(jid).map_err(|e| {
            std::io::Error::new(e.kind(), format!("{}: {e}", self.log_path.display()))
        })?;
        s.ids.insert(jid.clone());
        let over = s.ids.len() > 2 * KEEP_STARTED;
        drop(s);
        if over {
            self.compact_if_needed()?;
        }
        Ok(Start::New)
    }

    /// Appends `jid` as a line of the log, or leaves the log as it was: a
    /// line cut short by a full disk would run into the next one and lose it.
    fn append_started(&self, jid: &Jid) -> std::io::Result<()> {
        let mut log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)?;
        let len = log.metadata()?.len();
        let written = log.write_all(format!("{jid}\n").as_bytes());
        if written.is_err() {
            let _ = log.set_len(len);
        }
        written
    }

    /// Job ids started, oldest first (a test aid and for `jobs.log` readers).
    pub fn started(&self) -> Vec<Jid> {
        self.started.lock().unwrap().ids.iter().cloned().collect()
    }

    /// Rewrites the log with the newest ids and the floor below them.
    fn compact_if_needed(&self) -> std::io::Result<()> {
        let mut s = self.started.lock().unwrap();
        if s.ids.len() <= KEEP_STARTED {
            return Ok(());
        }
        let drop_n = s.ids.len() - KEEP_STARTED;
        let dropped: Vec<Jid> = s.ids.iter().take(drop_n).cloned().collect();
        for d in &dropped {
            s.ids.remove(d);
        }
        s.floor = dropped.last().cloned().max(s.floor.clone());
        let mut text = String::new();
        if let Some(f) = &s.floor {
            text.push_str(&format!("floor {f}\n"));
        }
        for id in &s.ids {
            text.push_str(id.as_str());
            text.push('\n');
        }
        // Not fsynced, as the appends between compactions are not: the
        // rewrite keeps the log exactly as durable as it was.
        durable::Durable::new()
            .mode(0o666)
            .sync(durable::Fsync::Nothing)
            .write(&self.log_path, text.as_bytes())
    }

    /// Stores a finished job's return before it is sent; `durable` writes
    /// it to disk with an fsync (jobs that changed the host), otherwise it
    /// is kept in memory.
    pub fn put(&self, ret: &JobReturn, durable: bool) -> std::io::Result<()> {
        if !durable {
            self.in_memory
                .lock()
                .unwrap()
                .insert(ret.jid.clone(), ret.clone());
            return Ok(());
        }
        let bytes = wire::encode(ret).map_err(std::io::Error::other)?;
        let path = self.returns.join(&ret.jid);
        // A full disk leaves no partial file behind (durable removes it).
        durable::Durable::new()
            .mode(0o666)
            .write(&path, &bytes)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }

    pub fn get(&self, jid: &Jid) -> Option<JobReturn> {
        if let Some(r) = self.in_memory.lock().unwrap().get(jid) {
            return Some(r.clone());
        }
        let bytes = fs::read(self.returns.join(jid)).ok()?;
        wire::decode(&bytes).ok()
    }

    /// The master has it: forget it.
    pub fn ack(&self, jid: &Jid) {
        if self.in_memory.lock().unwrap().remove(jid).is_some() {
            return;
        }
        let _ = fs::remove_file(self.returns.join(jid));
    }

    /// Every return not yet acked, oldest job first.
    pub fn pending(&self) -> Vec<JobReturn> {
        let mut names: Vec<Jid> = fs::read_dir(&self.returns)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| Jid::parse(e.file_name().to_str()?).ok())
                    .collect()
            })
            .unwrap_or_default();
        names.extend(self.in_memory.lock().unwrap().keys().cloned());
        names.sort();
        names.dedup();
        names.iter().filter_map(|n| self.get(n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(jid: &Jid) -> JobReturn {
        JobReturn {
            jid: jid.clone(),
            success: true,
            ret: serde_json::json!({"a": 1}),
            retcode: 0,
        }
    }

    #[test]
    fn returns_survive_until_acked_and_jobs_start_once() {
        let dir = tempfile::tempdir().unwrap();
        let jid = &Jid::parse("20261124101010000001").unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        assert_eq!(ob.start(jid).unwrap(), Start::New);
        assert_eq!(ob.start(jid).unwrap(), Start::SeenBefore);
        ob.put(&ret(jid), true).unwrap();
        let reopened = Outbox::open(dir.path()).unwrap();
        assert_eq!(reopened.pending(), vec![ret(jid)]);
        assert_eq!(reopened.start(jid).unwrap(), Start::SeenBefore);
        reopened.ack(jid);
        assert!(reopened.pending().is_empty());
        // A half-stored result of a minion that died is cleared at start.
        let half = dir.path().join("outbox").join(format!(".{jid}.tmp"));
        fs::write(&half, b"\x81").unwrap();
        Outbox::open(dir.path()).unwrap();
        assert!(!half.exists());
    }

    /// Two masters sending the same job id at once (each session is its
    /// own task, on its own thread): one of them runs it.
    #[test]
    fn a_job_id_sent_by_several_masters_at_once_starts_once() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        let jid = Jid::parse("20261124101010000001").unwrap();
        let barrier = std::sync::Barrier::new(8);
        let starts: Vec<Start> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        ob.start(&jid).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(starts.iter().filter(|s| **s == Start::New).count(), 1);
        assert_eq!(ob.started(), vec![jid]);
    }

    #[test]
    fn read_only_results_are_kept_in_memory_until_acked() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        let (a, b) = (
            &Jid::parse("20261124101010000001").unwrap(),
            &Jid::parse("20261124101010000002").unwrap(),
        );
        ob.put(&ret(b), false).unwrap();
        ob.put(&ret(a), true).unwrap();
        assert_eq!(ob.pending(), vec![ret(a), ret(b)]);
        assert_eq!(ob.get(b), Some(ret(b)));
        assert_eq!(
            std::fs::read_dir(dir.path().join("outbox"))
                .unwrap()
                .count(),
            1
        );
        ob.ack(b);
        assert_eq!(ob.pending(), vec![ret(a)]);
    }

    #[test]
    fn forgotten_ids_are_refused_as_too_old_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        let jid = |i: usize| Jid::parse(&format!("2026112410{i:010}")).unwrap();
        for i in 0..=2 * KEEP_STARTED {
            assert_eq!(ob.start(&jid(i)).unwrap(), Start::New);
        }
        // Compacted to the newest KEEP_STARTED ids.
        assert_eq!(ob.started().len(), KEEP_STARTED);
        assert_eq!(ob.start(&jid(3)).unwrap(), Start::TooOld);
        let reopened = Outbox::open(dir.path()).unwrap();
        assert_eq!(reopened.start(&jid(3)).unwrap(), Start::TooOld);
        assert_eq!(
            reopened.start(&jid(2 * KEEP_STARTED)).unwrap(),
            Start::SeenBefore
        );
        assert_eq!(
            reopened.start(&jid(2 * KEEP_STARTED + 1)).unwrap(),
            Start::New
        );
    }

    /// The outbox takes only a [`Jid`]: a job or a return whose id is not
    /// one does not decode off the wire, so it never reaches a file name.
    /// What is on disk already is read the same way.
    #[test]
    fn a_malformed_job_id_never_becomes_a_file_name() {
        #[derive(serde::Serialize)]
        struct LooseReturn<'a> {
            jid: &'a str,
            success: bool,
            ret: serde_json::Value,
            retcode: i32,
        }
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        drop(Outbox::open(&cache).unwrap());
        for jid in [
            "../../escaped",
            "/tmp/abs",
            "..",
            "x\0y",
            "",
            "2026112410101000000/",
        ] {
            let e = Jid::parse(jid).unwrap_err();
            assert!(!e.to_string().contains('\0'));
            let loose = LooseReturn {
                jid,
                success: true,
                ret: serde_json::json!({"a": 1}),
                retcode: 0,
            };
            let bytes = wire::encode(&loose).unwrap();
            assert!(wire::decode::<JobReturn>(&bytes).is_err(), "{jid:?}");
        }
        // Names in the outbox and lines in jobs.log that are not job ids
        // are passed over.
        let good = Jid::parse("20261124101010000001").unwrap();
        fs::write(
            cache.join("outbox/not-a-jid"),
            wire::encode(&ret(&good)).unwrap(),
        )
        .unwrap();
        fs::write(cache.join("jobs.log"), "../x\nfloor ..\n2026\n").unwrap();
        let before = tree(dir.path());
        let reopened = Outbox::open(&cache).unwrap();
        assert!(reopened.pending().is_empty());
        assert!(reopened.started().is_empty());
        assert_eq!(reopened.start(&good).unwrap(), Start::New);
        assert_eq!(tree(dir.path()), before);
    }

    fn tree(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                }
                out.push(e.path());
            }
        }
        out.sort();
        out
    }
}
