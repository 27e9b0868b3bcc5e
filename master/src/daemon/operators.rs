//! The operator port: only keys listed in `pki/operators` get a session, and
//! every request runs as the operator that key names (checked against the
//! ACL, recorded with each job).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::data::Value;
use serde_json::json;
use transport::keys::PublicKey;
use transport::wire::{self, Admission, Claim, KeysOp, OpReply, OpRequest};

use super::Master;
use crate::listener::{Handler, OperatorPeer};

pub struct OperatorSide {
    master: Arc<Master>,
    names: Mutex<HashMap<u64, String>>,
}

impl OperatorSide {
    pub fn new(master: Arc<Master>) -> Self {
        OperatorSide {
            master,
            names: Mutex::new(HashMap::new()),
        }
    }
}

impl Handler for OperatorSide {
    type Sends = OpReply;

    fn admit(&self, key: &PublicKey, claim: &Claim) -> Admission {
        if *claim != Claim::Operator {
            return Admission::Refused {
                reason: "this port is for operators".into(),
            };
        }
        if self.master.is_stopping() {
            return Admission::Refused {
                reason: "the master is stopping".into(),
            };
        }
        match self
            .master
            .keys
            .lock()
            .unwrap()
            .operator_for(key)
            .ok()
            .flatten()
        {
            Some(name) => {
                tracing::info!(operator = %name, "operator connected");
                Admission::Accepted
            }
            None => {
                tracing::warn!(fingerprint = %key.fingerprint(), "an operator key not in pki/operators was refused");
                Admission::Refused {
                    reason: format!(
                        "operator key {} is not listed in the master's pki/operators",
                        key.fingerprint()
                    ),
                }
            }
        }
    }

    fn opened(&self, peer: &Arc<OperatorPeer>) {
        if let Ok(Some(name)) = self.master.keys.lock().unwrap().operator_for(&peer.key) {
            self.names.lock().unwrap().insert(peer.serial, name);
        }
    }

    fn message(&self, peer: &Arc<OperatorPeer>, bytes: Vec<u8>) {
        let Some(operator) = self.names.lock().unwrap().get(&peer.serial).cloned() else {
            peer.close();
            return;
        };
        let req: OpRequest = match wire::decode(&bytes) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(operator = %operator, error = %e, "closing an operator session that sent an undecodable request");
                peer.close();
                return;
            }
        };
        if matches!(req, OpRequest::Ping) {
            return;
        }
        let master = self.master.clone();
        let peer = peer.clone();
        tokio::spawn(async move {
            match req {
                OpRequest::Publish(p) => super::publish::publish(master, operator, p, peer).await,
                OpRequest::Events { tag, queue } => {
                    super::events::serve(master, operator, peer, tag, queue).await
                }
                OpRequest::ApplyPlan(p) => {
                    super::plan_apply::apply(master, operator, *p, peer).await
                }
                other => {
                    let reply = answer(&master, &operator, other).await;
                    let _ = peer.send(&OpReply::Reply(reply));
                }
            }
        });
    }

    fn closed(&self, peer: &Arc<OperatorPeer>) {
        self.names.lock().unwrap().remove(&peer.serial);
        self.master.events.unsubscribe(peer.serial);
    }
}

async fn answer(master: &Arc<Master>, operator: &str, req: OpRequest) -> Result<Value, String> {
    let acl = |fun: &str| -> Result<(), String> {
        if master.allows(operator, "*", fun) {
            Ok(())
        } else {
            Err(format!("operator {operator} may not run {fun}"))
        }
    };
    match req {
        OpRequest::Keys(op) => {
            acl("keys")?;
            keys(master, operator, op)
        }
        OpRequest::JobsList => {
            acl("jobs")?;
            let jobs = master
                .jobs
                .lock()
                .unwrap()
                .list_jobs(200)
                .map_err(|e| e.to_string())?;
            Ok(serde_json::to_value(jobs).map_err(|e| e.to_string())?)
        }
        OpRequest::JobsActive => {
            acl("jobs")?;
            let jobs = master
                .jobs
                .lock()
                .unwrap()
                .active()
                .map_err(|e| e.to_string())?;
            Ok(serde_json::to_value(jobs).map_err(|e| e.to_string())?)
        }
        OpRequest::JobShow { jid } => {
            acl("jobs")?;
            let detail = master
                .jobs
                .lock()
                .unwrap()
                .show(&jid)
                .map_err(|e| e.to_string())?;
            match detail {
                Some(d) => Ok(serde_json::to_value(d).map_err(|e| e.to_string())?),
                None => Err(format!("no job {jid}")),
            }
        }
        OpRequest::Render {
            minion,
            sls,
            saltenv,
            pillarenv,
        } => {
            acl("render")?;
            if let Err(e) = crate::pki::validate_id(&minion) {
                return Err(refused(operator, "render", e));
            }
            let job = states::compile::JobEnv {
                saltenv,
                pillarenv,
                pillar: None,
            };
            super::publish::render_for(master.clone(), minion, sls, job).await
        }
        OpRequest::SecretsWho { path } => {
            acl("secrets")?;
            super::secrets_who::who(master.clone(), path).await
        }
        OpRequest::Drift { target, tgt_type } => {
            acl("jobs")?;
            super::drift::drift(master.clone(), target, tgt_type).await
        }
        OpRequest::FileserverUpdate => {
            acl("fileserver")?;
            crate::gitfs::answer_update(master.gitfs.clone()).await
        }
        OpRequest::FileserverStatus => {
            acl("fileserver")?;
            crate::gitfs::answer_status(master.gitfs.as_deref())
        }
        OpRequest::Plan(p) => super::plan::plan(master.clone(), operator, *p).await,
        OpRequest::AclShow => {
            acl("acl")?;
            super::shared_acl::show(master)
        }
        OpRequest::AclSet { acl: text } => {
            acl("acl")?;
            let m = master.clone();
            let operator = operator.to_string();
            tokio::task::spawn_blocking(move || super::shared_acl::set(&m, &operator, &text))
                .await
                .map_err(|e| e.to_string())?
        }
        OpRequest::Publish(_)
        | OpRequest::ApplyPlan(_)
        | OpRequest::Ping
        | OpRequest::Events { .. } => {
            unreachable!("handled in message")
        }
    }
}

/// A request refused for its input (a malformed minion id): the
/// operator gets the reason, the log gets it too. The error shows the input
/// escaped.
fn refused(operator: &str, request: &str, e: impl std::fmt::Display) -> String {
    tracing::warn!(operator = %operator, request, error = %e, "refused an operator request");
    e.to_string()
}

fn keys(master: &Master, operator: &str, op: KeysOp) -> Result<Value, String> {
    let store = master.keys.lock().unwrap();
    let e = |e: crate::pki::PkiError| match e {
        crate::pki::PkiError::InvalidId { .. } => refused(operator, "keys", e),
        other => other.to_string(),
    };
    match op {
        KeysOp::List => {
            let l = store.list().map_err(e)?;
            Ok(
                json!({"minions": l.accepted, "minions_pre": l.pending, "minions_rejected": l.rejected}),
            )
        }
        KeysOp::Accept { all: true, .. } => {
            let ids = store.accept_all().map_err(e)?;
            drop(store);
            master.events.key("accept", &ids);
            for id in &ids {
                master.admit_pending(id);
            }
            Ok(json!({"accepted": ids}))
        }
        KeysOp::Accept { id: Some(id), .. } => {
            store.accept(&id).map_err(e)?;
            drop(store);
            master.events.key("accept", std::slice::from_ref(&id));
            master.admit_pending(&id);
            Ok(json!({"accepted": [id]}))
        }
        KeysOp::Accept { id: None, .. } => Err("name a minion id or --all".into()),
        KeysOp::Reject { id } => {
            store.reject(&id).map_err(e)?;
            drop(store);
            master.disconnect(&id, "this minion's key was rejected");
            master.events.key("reject", std::slice::from_ref(&id));
            Ok(json!({"rejected": [id]}))
        }
        KeysOp::Delete { id } => {
            store.delete(&id).map_err(e)?;
            drop(store);
            master.disconnect(&id, "this minion's key was deleted");
            master.forget_cache(&id);
            master.events.key("delete", std::slice::from_ref(&id));
            Ok(json!({"deleted": [id]}))
        }
        KeysOp::Fingerprint { id: None } => Ok(json!({"master": master.key.public.fingerprint()})),
        KeysOp::Fingerprint { id: Some(id) } => match store.fingerprint(&id).map_err(e)? {
            Some((state, fp)) => Ok(json!({"id": id, "state": state, "fingerprint": fp})),
            None => Err(format!("no key for {id}")),
        },
    }
}
