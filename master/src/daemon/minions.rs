//! The minion port: admission by key, grains, returns, and the requests a
//! running job makes (files, templates, listings). Every request is checked
//! against the job this very minion is running: a minion can only fetch or
//! render for its own jobs, and its returns count only for itself.
use std::sync::Arc;

use common::data::Value;
use common::keys::PublicKey;
use common::wire::{self, Admission, Blob, Claim, FetchWhat, JobReturn, MasterMsg, MinionMsg};
use states::state::{LocalSources, Sources};

use super::{LiveMinion, Master};
use crate::listener::{Handler, Peer};

pub struct MinionSide {
    master: Arc<Master>,
}

impl MinionSide {
    pub fn new(master: Arc<Master>) -> Self {
        MinionSide { master }
    }
}

fn minion_id(peer: &Peer) -> &str {
    match &peer.claim {
        Claim::Minion { id } => id,
        Claim::Operator => "",
    }
}

impl Handler for MinionSide {
    fn admit(&self, key: &PublicKey, claim: &Claim) -> Admission {
        let Claim::Minion { id } = claim else {
            return Admission::Refused {
                reason: "this port is for minions".into(),
            };
        };
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
                a
            }
            Err(e) => {
                tracing::warn!(minion = %id, fingerprint = %key.fingerprint(), error = %e, "minion refused");
                Admission::Refused {
                    reason: e.to_string(),
                }
            }
        }
    }

    fn opened(&self, peer: &Arc<Peer>) {
        let id = minion_id(peer).to_string();
        let old = self.master.live.write().unwrap().insert(
            id,
            LiveMinion {
                peer: peer.clone(),
                probes: Default::default(),
            },
        );
        if let Some(old) = old {
            old.peer.close();
            old.probes.close_all();
        }
    }

    fn message(&self, peer: &Arc<Peer>, bytes: Vec<u8>) {
        let id = minion_id(peer).to_string();
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
                }
            }
            MinionMsg::Return(ret) => self.on_return(peer, &id, ret),
            MinionMsg::ProbeReply { req, reply } => {
                let probes = self
                    .master
                    .live
                    .read()
                    .unwrap()
                    .get(&id)
                    .filter(|m| m.peer.serial == peer.serial)
                    .map(|m| m.probes.clone());
                if let Some(p) = probes {
                    p.complete(req, reply);
                }
            }
            MinionMsg::Fetch { req, jid, what } => {
                let master = self.master.clone();
                let peer = peer.clone();
                tokio::task::spawn_blocking(move || {
                    let reply = fetch(&master, &id, &jid, what);
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
                    let _ = peer.send(&MasterMsg::Listed { req, reply });
                });
            }
        }
    }

    fn closed(&self, peer: &Arc<Peer>) {
        let id = minion_id(peer);
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
    fn on_return(&self, peer: &Arc<Peer>, id: &str, ret: JobReturn) {
        let jid = ret.jid.clone();
        if crate::jobcache::validate_jid(&jid).is_err() {
            tracing::warn!(minion = %id, "a return with a malformed job id; ignored");
            return;
        }
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
            // The job cache is read off the listener's task.
            let master = self.master.clone();
            let id = id.to_string();
            tokio::task::spawn_blocking(move || {
                if !crate::daemon::publish::record_late_return(&master, &id, &ret) {
                    tracing::warn!(minion = %id, jid = %ret.jid, "a return for a job this minion was not sent; ignored");
                }
            });
        }
        // Acked either way, so the minion's outbox does not resend it forever.
        let _ = peer.send(&MasterMsg::ReturnAck { jid });
    }
}

/// Runs `f` with the sources of the job `jid` this minion is running.
fn with_sources<T>(
    master: &Master,
    id: &str,
    jid: &str,
    url: &str,
    f: impl FnOnce(&LocalSources) -> Result<T, String>,
) -> Result<T, String> {
    if !url.starts_with("salt://") {
        return Err(format!("only salt:// urls are served, not {url:?}"));
    }
    let (renderer, session) = {
        let running = master.running.lock().unwrap();
        let job = running
            .get(&(jid.to_string(), id.to_string()))
            .ok_or_else(|| format!("job {jid} is not running on {id}"))?;
        (job.renderer.clone(), job.session.clone())
    };
    let session = session.ok_or_else(|| format!("job {jid} renders no templates"))?;
    f(&LocalSources::new(renderer, session))
}

fn fetch(master: &Master, id: &str, jid: &str, what: FetchWhat) -> Result<Vec<Blob>, String> {
    let renderer = {
        let running = master.running.lock().unwrap();
        let job = running
            .get(&(jid.to_string(), id.to_string()))
            .ok_or_else(|| format!("job {jid} is not running on {id}"))?;
        match what {
            FetchWhat::Blobs(ref shas) => {
                let urls: Result<Vec<String>, String> = shas
                    .iter()
                    .map(|sha| {
                        job.blobs
                            .get(sha)
                            .cloned()
                            .ok_or_else(|| format!("{sha} is not a file of job {jid}"))
                    })
                    .collect();
                let urls = urls?;
                let renderer = job.renderer.clone();
                drop(running);
                return urls.iter().map(|u| read_url(&renderer, u)).collect();
            }
            FetchWhat::Url(_) => job.renderer.clone(),
        }
    };
    match what {
        FetchWhat::Url(url) => Ok(vec![read_url(&renderer, &url)?]),
        FetchWhat::Blobs(_) => unreachable!(),
    }
}

/// Reads a `salt://` file under the file roots; the renderer's finder
/// refuses `..`, NUL, and symlinks that leave the root.
fn read_url(renderer: &common::render::Renderer, url: &str) -> Result<Blob, String> {
    if !url.starts_with("salt://") {
        return Err(format!("only salt:// urls are served, not {url:?}"));
    }
    let path = renderer
        .find(url)
        .ok_or_else(|| format!("Source file {url} not found in saltenv 'base'"))?;
    let data = std::fs::read(&path).map_err(|e| format!("cannot read {url}: {e}"))?;
    Ok(Blob {
        sha256: super::compile::sha256_hex(&data),
        data,
    })
}
