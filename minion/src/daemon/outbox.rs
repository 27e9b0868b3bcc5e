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

    /// Stores a finished job's return before it is sent; `durable` also
    /// makes it survive a power loss (fsync), for jobs that changed the host.
    /// Without it the return still survives the minion's own restart.
    pub fn put(&self, ret: &JobReturn, durable: bool) -> std::io::Result<()> {
        let bytes = wire::encode(ret).map_err(std::io::Error::other)?;
        let path = self.returns.join(&ret.jid);
        let tmp = self.returns.join(format!(".{}.tmp", ret.jid));
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        if durable {
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        if durable {
            fs::File::open(&self.returns)?.sync_all()?;
        }
        Ok(())
    }

    pub fn get(&self, jid: &str) -> Option<JobReturn> {
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
        ob.put(&ret, true).unwrap();
        let reopened = Outbox::open(dir.path()).unwrap();
        assert_eq!(reopened.pending(), vec![ret.clone()]);
        assert!(!reopened.start(jid).unwrap());
        reopened.ack(jid);
        assert!(reopened.pending().is_empty());
        assert!(!valid_jid("../../etc/passwd000"));
        assert!(!valid_jid("2026112410101000000a"));
    }
}
