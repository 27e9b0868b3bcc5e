//! The minion port: admission by key, grains, returns, and the requests a
//! running job makes (files, templates, listings). Every request is checked
//! against the job this very minion is running: a minion can only fetch or
//! render for its own jobs, and its returns count only for itself.
use std::sync::Arc;

use common::data::Value;
use common::untrusted::shown;
use states::state::{LocalSources, Sources};
use transport::keys::PublicKey;
use transport::wire::{
    self, Admission, Blob, Claim, FetchWhat, Jid, JobReturn, MasterMsg, MinionMsg,
};

use super::{Master, RunningJob};
use crate::listener::{Handler, MinionPeer};

pub struct MinionSide {
    master: Arc<Master>,
}

impl MinionSide {
    pub fn new(master: Arc<Master>) -> Self {
        MinionSide { master }
    }
}

fn minion_id(peer: &MinionPeer) -> &str {
    match &peer.claim {
        Claim::Minion { id } | Claim::MinionCall { id } => id,
        Claim::Operator => "",
    }
}

/// A one-shot `minion apply` session, beside (never instead of) the daemon's.
fn is_call(peer: &MinionPeer) -> bool {
    matches!(peer.claim, Claim::MinionCall { .. })
}

impl Handler for MinionSide {
    type Sends = MasterMsg;

    fn admit(&self, key: &PublicKey, claim: &Claim) -> Admission {
        let (Claim::Minion { id } | Claim::MinionCall { id }) = claim else {
            return Admission::Refused {
                reason: "this port is for minions".into(),
            };
        };
        if self.master.is_stopping() {
            return Admission::Refused {
                reason: "the master is stopping".into(),
            };
        }
        let c = &self.master.config;
        let verdict = self
            .master
            .keys
            .lock()
            .unwrap()
            .admit(id, key, c.auto_accept, &c.autosign);
        match verdict {
            Ok(a) => {
                tracing::info!(minion = %id, fingerprint = %key.fingerprint(), admission = ?a, "minion handshake");
                self.master.events.auth(id, key, &a);
                a
            }
            Err(e) => {
                // Not a valid id: logged escaped (it may hold NUL, newlines, escapes).
                tracing::warn!(minion = %shown(id), fingerprint = %key.fingerprint(), error = %e, "minion refused");
                Admission::Refused {
                    reason: e.to_string(),
                }
            }
        }
    }

    fn opened(&self, peer: &Arc<MinionPeer>) {
        if is_call(peer) {
            self.master.minion_jobs.open_call(peer.serial);
            return;
        }
        self.master.go_live(minion_id(peer), peer);
        self.master.events.minion_start(minion_id(peer));
    }

    fn hold_pending(&self, peer: &Arc<MinionPeer>) -> bool {
        // `minion apply` is told at once; only the daemon waits.
        if self.master.is_stopping() || is_call(peer) {
            return false;
        }
        let id = minion_id(peer);
        self.master.held.lock().unwrap().insert(peer.serial);
        let older = self
            .master
            .pending
            .lock()
            .unwrap()
            .insert(id.to_string(), peer.clone());
        if let Some(older) = older {
            older.close();
        }
        // Accepted between `admit` and now: admitted at once all the same.
        self.master.admit_pending(id);
        true
    }

    fn message(&self, peer: &Arc<MinionPeer>, bytes: Vec<u8>) {
        let id = minion_id(peer).to_string();
        if self.master.held.lock().unwrap().contains(&peer.serial) {
            // A session held while its key is pending waits for its
            // admission and says nothing: one that speaks is closed.
            tracing::debug!(minion = %id, "closing a session that spoke before it was admitted");
            peer.close();
            return;
        }
        let bytes_len = bytes.len();
        let msg: MinionMsg = match wire::decode(&bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(minion = %id, error = %e, "closing a session that sent an undecodable message");
                peer.close();
                return;
            }
        };
        match msg {
            MinionMsg::Ping => {
                let _ = peer.send(&MasterMsg::Pong);
            }
            MinionMsg::Grains { grains } => {
                if grains.is_object() {
                    let mut grains = grains;
                    // The id is the one the key proved, whatever the grains say.
                    grains["id"] = Value::String(id.clone());
                    self.master.grains.set(&id, &grains);
                    self.master.pillar_mine.push(&id);
                }
            }
            MinionMsg::Mine { data } => {
                if bytes_len > wire::MAX_MINE {
                    tracing::warn!(minion = %id, bytes = bytes_len, limit = wire::MAX_MINE, "mine data over the limit; not kept");
                } else {
                    self.master.mine.update(&id, data);
                }
            }
            MinionMsg::Return(ret) => self.on_return(peer, &id, ret),
            MinionMsg::ProbeReply { req, reply } => {
                if let Some(p) = self.probes_of(peer, &id) {
                    p.complete(req, reply);
                }
            }
            MinionMsg::StartJob { req, job } => {
                let Some(probes) = self.probes_of(peer, &id) else {
                    return;
                };
                let master = self.master.clone();
                let peer = peer.clone();
                tokio::spawn(super::minion_job::start(master, peer, probes, id, req, job));
            }
            MinionMsg::Fetch { req, jid, what } => {
                let master = self.master.clone();
                let peer = peer.clone();
                tokio::task::spawn_blocking(move || {
                    let reply = fetch(&master, &id, &jid, what);
                    let reply = logged(&id, &jid, "fetch", reply);
                    let _ = peer.send(&MasterMsg::Fetched { req, reply });
                });
            }
            MinionMsg::Render {
                req,
                jid,
                url,
                context,
            } => {
                let master = self.master.clone();
                let peer = peer.clone();
                tokio::task::spawn_blocking(move || {
                    let reply = with_sources(&master, &id, &jid, &url, |s| {
                        s.render(&url, &context).map_err(|e| e.to_string())
                    });
                    let reply = logged(&id, &jid, "render", reply);
                    let _ = peer.send(&MasterMsg::Rendered { req, reply });
                });
            }
            MinionMsg::List {
                req,
                jid,
                url,
                dirs,
            } => {
                let master = self.master.clone();
                let peer = peer.clone();
                tokio::task::spawn_blocking(move || {
                    let reply = with_sources(&master, &id, &jid, &url, |s| {
                        if dirs {
                            s.list_dirs(&url)
                        } else {
                            s.list(&url)
                        }
                        .map_err(|e| e.to_string())
                    });
                    let reply = logged(&id, &jid, "list", reply);
                    let _ = peer.send(&MasterMsg::Listed { req, reply });
                });
            }
        }
    }

    fn closed(&self, peer: &Arc<MinionPeer>) {
        let id = minion_id(peer);
        if is_call(peer) {
            self.master.minion_jobs.close_call(peer.serial);
            return;
        }
        self.master.held.lock().unwrap().remove(&peer.serial);
        {
            let mut pending = self.master.pending.lock().unwrap();
            if pending.get(id).is_some_and(|p| p.serial == peer.serial) {
                pending.remove(id);
            }
        }
        let mut live = self.master.live.write().unwrap();
        if live.get(id).is_some_and(|m| m.peer.serial == peer.serial) {
            if let Some(m) = live.remove(id) {
                m.probes.close_all();
            }
            tracing::info!(minion = %id, "minion disconnected");
        }
    }
}

impl MinionSide {
    /// The template probes of this very session: the daemon's live one, or
    /// a `minion apply` session's.
    fn probes_of(&self, peer: &MinionPeer, id: &str) -> Option<Arc<super::probe::ProbeReplies>> {
        if is_call(peer) {
            return self.master.minion_jobs.call_probes(peer.serial);
        }
        self.master
            .live
            .read()
            .unwrap()
            .get(id)
            .filter(|m| m.peer.serial == peer.serial)
            .map(|m| m.probes.clone())
    }

    fn on_return(&self, peer: &Arc<MinionPeer>, id: &str, ret: JobReturn) {
        // Held until the return is handed on and acked: a stop waits for it.
        let stopping = self.master.stopping.read().unwrap();
        if *stopping {
            // Not acked: the minion keeps it and delivers it to the next
            // master process.
            return;
        }
        let jid = ret.jid.clone();
        let waiting = self
            .master
            .running
            .lock()
            .unwrap()
            .remove(&(jid.clone(), id.to_string()));
        if let Some(job) = waiting {
            let _ = job.done.send((id.to_string(), ret));
        } else {
            // Finished while the master was away (or restarted): it counts
            // if this minion was expected for that job and has not returned.
            crate::daemon::late_return::hand_on(&self.master, id.to_string(), ret);
        }
        // Acked either way, so the minion's outbox does not resend it forever.
        let _ = peer.send(&MasterMsg::ReturnAck { jid });
    }
}

/// Logs a refused request of a job: the minion sees the reason in the
/// reply, the operator in the master's log. The error names the minion's
/// input escaped, never raw.
fn logged<T>(id: &str, jid: &Jid, what: &str, reply: Result<T, String>) -> Result<T, String> {
    if let Err(e) = &reply {
        tracing::warn!(minion = %id, jid = %jid, request = what, error = %e, "refused a minion's file request");
    }
    reply
}

/// The job `jid` this minion is running, or why not.
fn job_of<T>(
    master: &Master,
    id: &str,
    jid: &Jid,
    f: impl FnOnce(&RunningJob) -> Result<T, String>,
) -> Result<T, String> {
    let running = master.running.lock().unwrap();
    let job = running
        .get(&(jid.clone(), id.to_string()))
        .ok_or_else(|| format!("job {jid} is not running on {id}"))?;
    f(job)
}

/// Runs `f` with the sources of the job `jid` this minion is running, for a
/// `salt://` URL that stays inside the file roots.
fn with_sources<T>(
    master: &Master,
    id: &str,
    jid: &Jid,
    url: &str,
    f: impl FnOnce(&LocalSources) -> Result<T, String>,
) -> Result<T, String> {
    common::salt_url::path(url).map_err(|e| e.to_string())?;
    let (saltenvs, session) = job_of(master, id, jid, |job| {
        Ok((job.saltenvs.clone(), job.session.clone()))
    })?;
    let session = session.ok_or_else(|| format!("job {jid} renders no templates"))?;
    f(&LocalSources::with_saltenvs(saltenvs, session))
}

fn fetch(master: &Master, id: &str, jid: &Jid, what: FetchWhat) -> Result<Vec<Blob>, String> {
    match what {
        FetchWhat::Blobs(shas) => {
            // Only files of this job's manifest, by the digest the master chose.
            let (saltenvs, urls) = job_of(master, id, jid, |job| {
                let urls = shas
                    .iter()
                    .map(|sha| {
                        job.blobs
                            .get(sha)
                            .cloned()
                            .ok_or_else(|| format!("{} is not a file of job {jid}", shown(sha)))
                    })
                    .collect::<Result<Vec<String>, String>>()?;
                Ok((job.saltenvs.clone(), urls))
            })?;
            urls.iter().map(|u| read_url(&saltenvs, u)).collect()
        }
        FetchWhat::Url(url) => {
            let saltenvs = job_of(master, id, jid, |job| Ok(job.saltenvs.clone()))?;
            Ok(vec![read_url(&saltenvs, &url)?])
        }
    }
}

/// Reads a `salt://` file under the file roots. The URL is checked by name
/// first; the renderer's finder then refuses symlinks that leave the root
/// and anything that is not a regular file, and the read itself refuses a
/// FIFO or device swapped in since.
fn read_url(saltenvs: &common::saltenvs::Saltenvs, url: &str) -> Result<Blob, String> {
    let rel = common::salt_url::path(url).map_err(|e| e.to_string())?;
    let env = common::salt_url::saltenv(url).unwrap_or("base");
    let renderer = saltenvs
        .get(env)
        .ok_or_else(|| common::saltenvs::not_configured(env))?;
    let path = renderer
        .find(rel)
        .ok_or_else(|| format!("Source file {} not found in saltenv '{env}'", shown(url)))?;
    let data = common::files::read_regular(&path)
        .map_err(|e| format!("cannot read {}: {e}", shown(url)))?;
    Ok(Blob {
        sha256: common::digest::sha256_hex(&data),
        data,
    })
}
