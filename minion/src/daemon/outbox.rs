//! Results kept on disk until the master acks them, and the job ids this
//! minion has started, so a job is never run twice (a replayed or resent job
//! gets the stored result again instead).
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use common::wire::{self, JobReturn};

pub struct Outbox {
    returns: PathBuf,
    started: PathBuf,
}

/// A job id as the master makes them: 20 ASCII digits. Anything else is
/// refused before it becomes a file name.
pub fn valid_jid(jid: &str) -> bool {
    jid.len() == 20 && jid.bytes().all(|b| b.is_ascii_digit())
}

/// Every method checks the id itself: it becomes a file name here, whatever
/// the caller checked.
fn refuse_bad(jid: &str) -> std::io::Result<()> {
    if valid_jid(jid) {
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("malformed job id {}", common::untrusted::shown(jid)),
    ))
}

impl Outbox {
    pub fn open(cachedir: &Path) -> std::io::Result<Outbox> {
        let returns = cachedir.join("outbox");
        let started = cachedir.join("jobs");
        for d in [&returns, &started] {
            fs::create_dir_all(d)?;
        }
        Ok(Outbox { returns, started })
    }

    /// Marks `jid` started; `false` when it was started before.
    pub fn start(&self, jid: &str) -> std::io::Result<bool> {
        refuse_bad(jid)?;
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.started.join(jid))
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stores a finished job's return durably before it is sent.
    pub fn put(&self, ret: &JobReturn) -> std::io::Result<()> {
        refuse_bad(&ret.jid)?;
        let bytes = wire::encode(ret).map_err(std::io::Error::other)?;
        let path = self.returns.join(&ret.jid);
        let tmp = self.returns.join(format!(".{}.tmp", ret.jid));
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)?;
        fs::File::open(&self.returns)?.sync_all()
    }

    pub fn get(&self, jid: &str) -> Option<JobReturn> {
        if !valid_jid(jid) {
            return None;
        }
        let bytes = fs::read(self.returns.join(jid)).ok()?;
        wire::decode(&bytes).ok()
    }

    /// The master has it: forget it.
    pub fn ack(&self, jid: &str) {
        if valid_jid(jid) {
            let _ = fs::remove_file(self.returns.join(jid));
        }
    }

    /// Every return not yet acked, oldest job first.
    pub fn pending(&self) -> Vec<JobReturn> {
        let mut names: Vec<String> = fs::read_dir(&self.returns)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .filter(|n| valid_jid(n))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names.iter().filter_map(|n| self.get(n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_survive_until_acked_and_jobs_start_once() {
        let dir = tempfile::tempdir().unwrap();
        let jid = "20261124101010000001";
        let ob = Outbox::open(dir.path()).unwrap();
        assert!(ob.start(jid).unwrap());
        assert!(!ob.start(jid).unwrap());
        let ret = JobReturn {
            jid: jid.into(),
            success: true,
            ret: serde_json::json!({"a": 1}),
            retcode: 0,
        };
        ob.put(&ret).unwrap();
        let reopened = Outbox::open(dir.path()).unwrap();
        assert_eq!(reopened.pending(), vec![ret.clone()]);
        assert!(!reopened.start(jid).unwrap());
        reopened.ack(jid);
        assert!(reopened.pending().is_empty());
        assert!(!valid_jid("../../etc/passwd000"));
        assert!(!valid_jid("2026112410101000000a"));
    }

    #[test]
    fn a_malformed_job_id_never_becomes_a_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let ob = Outbox::open(&cache).unwrap();
        let before = tree(dir.path());
        for jid in [
            "../../escaped",
            "/tmp/abs",
            "..",
            "x\0y",
            "",
            "2026112410101000000/",
        ] {
            let e = ob.start(jid).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            assert!(!e.to_string().contains('\0'));
            let ret = JobReturn {
                jid: jid.into(),
                success: true,
                ret: serde_json::json!(null),
                retcode: 0,
            };
            assert!(ob.put(&ret).is_err());
            assert!(ob.get(jid).is_none());
            ob.ack(jid);
        }
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
