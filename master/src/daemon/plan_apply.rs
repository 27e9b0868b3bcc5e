//! `master apply --plan FILE --tree DIR`: a saved plan's chunks published to
//! exactly its minions, and only if nothing it was compiled from moved.
//!
//! The plan file holds digests and the chunks as shown (gpg-decrypted values
//! as `<secret ...>`), never a secret, so it can sit in a CI system's
//! artifacts. The candidate tree comes again with the apply, from the
//! operator's checkout, rather than inside the plan file: its digest must
//! match the plan's (so a commit pushed after the review is refused, naming
//! the tree), and the master needs its files anyway to serve `salt://`
//! sources and templates while the job runs.
//!
//! Before anything is published the master recomputes, per minion: its
//! cached grains' digest, its pillar's (compiled with the candidate, as the
//! plan did), and its candidate chunks, which must equal the saved ones;
//! what it sends is that recompile (secrets in place), so the chunks applied
//! are the plan's. Anything that moved is named in one refusal.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use transport::wire::{OpReply, Publish, PublishWhat};
use transport::wire_plan::{ApplyPlanRequest, PlannedMinion, PLAN_VERSION};

use super::compile::{compile, Compiled, Tree};
use super::plan::{
    candidate_tree, for_each_minion, shown, shown_chunks, value_digest, CandidateDirs,
};
use super::Master;
use crate::listener::OperatorPeer;

/// A checked plan, ready to publish: each minion's compile, taken once.
pub struct Planned {
    pub tree: Arc<Tree>,
    compiled: Mutex<HashMap<String, Compiled>>,
    /// The candidate's files, served while the job runs.
    _dirs: CandidateDirs,
}

impl Planned {
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.compiled.lock().unwrap().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Minion `id`'s compile (once).
    pub fn take(&self, id: &str) -> Option<Compiled> {
        self.compiled.lock().unwrap().remove(id)
    }
}

pub async fn apply(
    master: Arc<Master>,
    operator: String,
    req: ApplyPlanRequest,
    sink: Arc<OperatorPeer>,
) {
    match prepare(&master, &operator, req).await {
        Ok((publish, planned)) => {
            super::publish::publish_planned(master, operator, publish, sink, Some(planned)).await
        }
        Err(e) => {
            tracing::warn!(operator = %operator, "refused to apply a plan");
            let _ = sink.send(&OpReply::Reply(Err(e)));
        }
    }
}

fn stale(moved: &[String]) -> String {
    format!(
        "the plan is stale, nothing was published: {}",
        moved.join("; ")
    )
}

struct Check {
    master: Arc<Master>,
    tree: Arc<Tree>,
    plan: transport::wire_plan::SavedPlan,
    job: states::compile::JobEnv,
    accepted: Vec<String>,
}

/// `Ok` with the compile to send, or what moved for this minion.
fn check_one(c: &Check, id: &str) -> Result<Compiled, Vec<String>> {
    let planned: &PlannedMinion = &c.plan.minions[id];
    if !c.accepted.iter().any(|a| a == id) {
        return Err(vec![format!("{id}: its key is no longer accepted")]);
    }
    let Some(grains) = c.master.grains.get(id).map(|g| g.value()) else {
        return Err(vec![format!("{id}: no cached grains")]);
    };
    let mut moved = Vec::new();
    if value_digest(&grains) != planned.grains {
        moved.push(format!("{id}: its grains changed since the plan was made"));
    }
    let probe = super::publish::probe_for(&c.master, id);
    let compiled = match compile(&c.tree, id, &grains, probe, &c.plan.sls, &c.job) {
        Ok(compiled) => compiled,
        Err(e) => {
            moved.push(format!("{id}: the candidate no longer compiles: {e}"));
            return Err(moved);
        }
    };
    if value_digest(&shown(&c.tree, id, compiled.pillar.clone())) != planned.pillar {
        moved.push(format!("{id}: its pillar changed since the plan was made"));
    }
    if moved.is_empty() && shown_chunks(&c.tree, id, compiled.chunks.clone()) != planned.chunks {
        moved.push(format!(
            "{id}: its chunks compile differently now (a host probe or the mine answered otherwise)"
        ));
    }
    if moved.is_empty() {
        Ok(compiled)
    } else {
        Err(moved)
    }
}

async fn prepare(
    master: &Arc<Master>,
    operator: &str,
    req: ApplyPlanRequest,
) -> Result<(Publish, Planned), String> {
    let ApplyPlanRequest {
        plan,
        mut tree,
        rev,
        pillar_tree,
        test,
        timeout_secs,
        batch,
    } = req;
    if plan.version != PLAN_VERSION {
        return Err(format!(
            "the plan's format is version {}; this master reads version {PLAN_VERSION}",
            plan.version
        ));
    }
    if plan.minions.is_empty() {
        return Err("the plan has no minion to apply to".into());
    }
    let ids: Vec<String> = plan.minions.keys().cloned().collect();
    let target = ids.join(",");
    if !master.allows(operator, &target, "state.apply") {
        return Err(format!(
            "operator {operator} may not run state.apply on {target}"
        ));
    }
    match (&rev, &plan.rev) {
        (Some(rev), _) => tree = super::plan::tree_at_rev(master, rev).await?.0,
        (None, Some(planned)) => {
            return Err(format!(
                "the plan was made with --rev {planned}: give --rev again"
            ))
        }
        (None, None) => {}
    }
    tree.check()?;
    let mut moved = Vec::new();
    let digest = tree.digest();
    if digest != plan.tree {
        moved.push(format!(
            "the state tree changed since the plan was made (its digest is {digest}, the plan's {})",
            plan.tree
        ));
    }
    match (&plan.pillar_tree, &pillar_tree) {
        (Some(want), Some(given)) => {
            given.check()?;
            let got = given.digest();
            if got != *want {
                moved.push(format!(
                    "the pillar tree changed since the plan was made (its digest is {got}, the plan's {want})"
                ));
            }
        }
        (Some(_), None) => {
            return Err("the plan was made with --pillar-tree: give the same one again".into())
        }
        (None, Some(_)) => return Err("the plan was made without --pillar-tree".into()),
        (None, None) => {}
    }
    if !moved.is_empty() {
        return Err(stale(&moved));
    }
    let job = super::publish::from_wire(&plan.env);
    let (dirs, candidate) = {
        let m = master.clone();
        let job = job.clone();
        tokio::task::spawn_blocking(move || {
            let dirs = CandidateDirs::write(&m.config.cachedir, &tree, pillar_tree.as_ref())?;
            let candidate = candidate_tree(&m, &job, &dirs);
            Ok::<_, String>((dirs, candidate))
        })
        .await
        .map_err(|e| e.to_string())??
    };
    let tree = Arc::new(candidate);
    let sls = plan.sls.clone();
    let env = plan.env.clone();
    let check = Arc::new(Check {
        master: master.clone(),
        tree: tree.clone(),
        plan,
        job,
        accepted: master.accepted_ids()?,
    });
    let results = for_each_minion(master, &ids, check, check_one).await?;
    let mut compiled = HashMap::new();
    for (id, r) in ids.into_iter().zip(results) {
        match r {
            Ok(c) => {
                compiled.insert(id, c);
            }
            Err(m) => moved.extend(m),
        }
    }
    if !moved.is_empty() {
        return Err(stale(&moved));
    }
    let publish = Publish {
        target,
        tgt_type: common::target::TargetKind::List,
        what: PublishWhat::Apply { sls, test, env },
        timeout_secs,
        batch,
    };
    Ok((
        publish,
        Planned {
            tree,
            compiled: Mutex::new(compiled),
            _dirs: dirs,
        },
    ))
}
