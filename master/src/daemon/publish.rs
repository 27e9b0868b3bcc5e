//! A job from an operator to its targets: match the cached grains, compile
//! per minion, send each its own job, collect returns until the deadline,
//! and stream them back; everything recorded in the job cache.
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::data::{Map, Value};
use common::render::{HostProbe, NoHost};
use common::target::{Facts, Target, TargetKind};
use states::compile::JobEnv;
use states::exec::MasterCall;
use tokio::sync::{mpsc, Semaphore};
use transport::wire::{
    Batch, Jid, Job, JobKind, JobReturn, MasterMsg, OpReply, Publish, PublishEnv, PublishWhat,
};

use super::compile::{compile, Tree};
use super::job_record::NewJob;
use super::plan_apply::Planned;
use super::probe::RemoteProbe;
use super::{Master, RunningJob};
use crate::jobcache::NewReturn;
use crate::listener::{MinionPeer, OperatorPeer};

/// The function name a publish is checked and recorded as.
pub(super) fn function_of(what: &PublishWhat) -> String {
    match what {
        PublishWhat::Apply { .. } => "state.apply".into(),
        PublishWhat::Run { fun, .. } => fun.clone(),
    }
}

/// The arguments as the job cache records them: a command-line `pillar=`
/// only by its keys, since its values may be secrets.
pub(super) fn args_of(what: &PublishWhat) -> Value {
    match what {
        PublishWhat::Apply { sls, test, env } => {
            let mut args = serde_json::json!({"sls": sls, "test": test});
            if let Some(p) = &env.pillar {
                args["pillar_keys"] = p.keys().cloned().collect();
            }
            args
        }
        PublishWhat::Run { args, kwargs, .. } => {
            let mut kwargs = kwargs.clone();
            let mut record = serde_json::json!({"args": args});
            if let Some(p) = kwargs.remove("pillar") {
                record["pillar_keys"] = match p {
                    Value::Object(m) => m.keys().cloned().collect(),
                    _ => Value::Null,
                };
            }
            record["kwargs"] = Value::Object(kwargs);
            record
        }
    }
}

/// The job's environment: the apply's, or a master-side `state.*` call's
/// `saltenv=`/`pillarenv=`/`pillar=`; none for a function the minion runs.
fn job_env_of(what: &PublishWhat) -> JobEnv {
    match what {
        PublishWhat::Apply { env, .. } => from_wire(env),
        PublishWhat::Run { fun, args, kwargs } => super::runfun::master_side(fun, args, kwargs)
            .and_then(|call| call.env().cloned())
            .unwrap_or_default(),
    }
}

pub(super) fn from_wire(env: &PublishEnv) -> JobEnv {
    JobEnv {
        saltenv: env.saltenv.as_ref().map(|e| e.as_str().to_string()),
        pillarenv: env.pillarenv.as_ref().map(|e| e.as_str().to_string()),
        pillar: env.pillar.clone().map(Value::Object),
    }
}

fn fail(sink: &OperatorPeer, message: String) {
    let _ = sink.send(&OpReply::Reply(Err(message)));
}

/// Publishes running now: the last to finish lets the compiler's code pages
/// go (see `process_tuning::code_pages`), so an idle master's resident size
/// is its loop, not its last compile.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

pub async fn publish(master: Arc<Master>, operator: String, p: Publish, sink: Arc<OperatorPeer>) {
    publish_planned(master, operator, p, sink, None).await
}

/// [`publish`], with each minion's compile taken from a checked plan
/// (`master apply --plan`) instead of compiled here.
pub(super) async fn publish_planned(
    master: Arc<Master>,
    operator: String,
    p: Publish,
    sink: Arc<OperatorPeer>,
    plan: Option<Planned>,
) {
    RUNNING.fetch_add(1, Ordering::SeqCst);
    publish_one(master, operator, p, sink, plan).await;
    if RUNNING.fetch_sub(1, Ordering::SeqCst) == 1 {
        tokio::task::spawn_blocking(process_tuning::code_pages::trim);
    }
}

/// Publishes not finished yet: a stopping master waits for them to record
/// the returns they took.
pub fn in_progress() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

async fn publish_one(
    master: Arc<Master>,
    operator: String,
    p: Publish,
    sink: Arc<OperatorPeer>,
    plan: Option<Planned>,
) {
    if master.is_stopping() {
        return fail(&sink, "the master is stopping: it takes no new jobs".into());
    }
    let function = function_of(&p.what);
    if !master.allows(&operator, &p.target, &function) {
        tracing::warn!(operator = %operator, target = %p.target, function = %function, "refused by the ACL");
        return fail(
            &sink,
            format!("operator {operator} may not run {function} on {}", p.target),
        );
    }
    let tree = match &plan {
        Some(plan) => plan.tree.clone(),
        None => Arc::new(master.tree()),
    };
    let expected = match &plan {
        Some(plan) => plan.ids(),
        None => match targets(&master, &tree, &p).await {
            Ok(t) => t,
            Err(e) => return fail(&sink, e),
        },
    };
    let env = job_env_of(&p.what);
    // Not given: the config's saltenv, and the pillar merged from every
    // pillarenv (NULL), as Salt compiles a job without them.
    let saltenv = env
        .saltenv
        .clone()
        .unwrap_or_else(|| tree.trees.states.saltenv().to_string());
    let new_job = NewJob {
        operator: operator.clone(),
        target: p.target.clone(),
        tgt_type: p.tgt_type.salt_name().to_string(),
        function: function.clone(),
        args: args_of(&p.what),
        saltenv: saltenv.clone(),
        pillarenv: env.pillarenv.clone(),
        expected: expected.clone(),
        schedule: None,
    };
    let jid = match master.record_new_job(&tree, new_job) {
        Ok(record) => record.jid,
        Err(e) => return fail(&sink, e),
    };
    tracing::info!(jid = %jid, operator = %operator, function = %function, target = %p.target, saltenv = %saltenv, minions = expected.len(), "job published");
    let _ = sink.send(&OpReply::Expected {
        jid: jid.clone(),
        minions: expected.clone(),
    });
    let timeout = Duration::from_secs(if p.timeout_secs > 0 {
        p.timeout_secs
    } else {
        master.config.timeout
    });
    let wave = match p.batch {
        None => expected.len().max(1),
        Some(Batch::Count(n)) => n.max(1),
        Some(Batch::Percent(pc)) => (expected.len() * pc as usize).div_ceil(100).max(1),
    };
    let mut missing = Vec::new();
    let job = Arc::new(JobSpec {
        what: p.what,
        env,
        plan,
    });
    for ids in expected.chunks(wave) {
        missing.extend(run_wave(&master, &tree, &jid, ids, &job, timeout, &sink).await);
    }
    if master.is_stopping() {
        // Not `Done`: the minions still running it keep their results until
        // the master is back; the operator is told it lost the master, and
        // `master jobs show` has every return once they are delivered.
        return;
    }
    if let Err(e) = master.jobs.lock().unwrap().finish_job(&jid) {
        tracing::warn!(jid = %jid, error = %e, "cannot mark the job finished");
    }
    let _ = sink.send(&OpReply::Done { jid, missing });
}

/// Accepted minions whose cached grains (and pillar, when the target needs
/// it) match.
pub(super) async fn targets(
    master: &Arc<Master>,
    tree: &Arc<Tree>,
    p: &Publish,
) -> Result<Vec<String>, String> {
    let kind = p.tgt_type;
    let target =
        Target::parse(&p.target, kind, &master.config.nodegroups).map_err(|e| e.to_string())?;
    let accepted = master.accepted_ids()?;
    let needs_pillar = target.needs_pillar();
    // Matching on the id alone needs no grains parsed.
    let needs_grains = !matches!(kind, TargetKind::Glob | TargetKind::Pcre | TargetKind::List);
    let grains = master.grains.snapshot();
    let master = master.clone();
    let tree = tree.clone();
    tokio::task::spawn_blocking(move || {
        let empty = Value::Object(Map::new());
        let mut out = Vec::new();
        for id in accepted {
            let g = match grains.get(&id) {
                Some(g) if needs_grains => g.value(),
                _ => serde_json::json!({"id": id}),
            };
            let pillar = if needs_pillar {
                tree.pillar_for(&id, &g, probe_for(&master, &id))
                    .unwrap_or_else(|_| empty.clone())
            } else {
                empty.clone()
            };
            let facts = Facts {
                id: &id,
                grains: &g,
                pillar: &pillar,
            };
            if target.matches(&facts) {
                out.push(id);
            }
        }
        out.sort();
        out
    })
    .await
    .map_err(|e| e.to_string())
}

/// The probe a render for minion `id` uses: its session if it has one,
/// and the master's mine.
pub(super) fn probe_for(master: &Arc<Master>, id: &str) -> Arc<dyn HostProbe> {
    let host: Arc<dyn HostProbe> = match master.live_peer(id) {
        Some((peer, replies)) => Arc::new(RemoteProbe { peer, replies }),
        None => Arc::new(NoHost),
    };
    super::mine::with_mine(master, host)
}

/// How often a waiting operator hears that the master is still there.
pub const KEEPALIVE: Duration = Duration::from_secs(2);

/// Runs one wave; returns the minions that did not return by the deadline.
async fn run_wave(
    master: &Arc<Master>,
    tree: &Arc<Tree>,
    jid: &Jid,
    ids: &[String],
    spec: &Arc<JobSpec>,
    timeout: Duration,
    sink: &Arc<OperatorPeer>,
) -> Vec<String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, JobReturn)>();
    let compiles = Arc::new(Semaphore::new(master.config.worker_threads.max(1)));
    let mut pending: HashSet<String> = HashSet::new();
    let mut got: HashSet<String> = HashSet::new();
    for id in ids {
        if master.live_peer(id).is_none() {
            continue;
        }
        pending.insert(id.clone());
        let job = OneJob {
            master: master.clone(),
            tree: tree.clone(),
            jid: jid.clone(),
            id: id.clone(),
            spec: spec.clone(),
            done: tx.clone(),
            compiles: compiles.clone(),
            session: None,
        };
        tokio::spawn(job.start());
    }
    drop(tx);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.tick().await;
    // Returns are written to the job cache in batches, off the runtime's
    // threads: one transaction per batch rather than one per minion.
    let mut batch: Vec<(String, JobReturn)> = Vec::new();
    while !pending.is_empty() {
        let next = tokio::select! {
            r = tokio::time::timeout_at(deadline, rx.recv()) => r,
            _ = keepalive.tick() => {
                let _ = sink.send(&OpReply::Waiting { jid: jid.clone() });
                continue;
            }
        };
        match next {
            Ok(Some((id, mut ret))) => {
                if !pending.remove(&id) {
                    continue;
                }
                got.insert(id.clone());
                // Before the job cache or the operator sees it.
                tree.hide_secrets(&id, &mut ret.ret);
                batch.push((id, ret));
                while batch.len() < RECORD_BATCH {
                    match rx.try_recv() {
                        Ok((id, mut ret)) if pending.remove(&id) => {
                            got.insert(id.clone());
                            tree.hide_secrets(&id, &mut ret.ret);
                            batch.push((id, ret));
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                record_and_stream(master, jid, &spec.what, std::mem::take(&mut batch), sink).await;
            }
            Ok(None) | Err(_) => break,
        }
    }
    let mut late = master.late_secrets.lock().unwrap();
    for id in ids.iter().filter(|id| !got.contains(*id)) {
        if let Some(secrets) = tree.take_secrets(id) {
            if late.len() < MAX_LATE_SECRETS {
                late.insert((jid.clone(), id.clone()), secrets);
            } else {
                tracing::warn!(jid = %jid, minion = %id, "too many late jobs with decrypted pillar: a late return of this one is recorded as it comes");
            }
        }
    }
    drop(late);
    let mut running = master.running.lock().unwrap();
    for id in ids {
        running.remove(&(jid.clone(), id.clone()));
    }
    ids.iter()
        .filter(|id| !got.contains(*id))
        .cloned()
        .collect()
}

/// Late returns whose decrypted pillar the master keeps to hide, at most.
const MAX_LATE_SECRETS: usize = 10_000;

/// Returns written to the job cache in one transaction, at most.
const RECORD_BATCH: usize = 512;

/// Records a batch of returns, then streams them to the operator.
async fn record_and_stream(
    master: &Arc<Master>,
    jid: &Jid,
    what: &PublishWhat,
    batch: Vec<(String, JobReturn)>,
    sink: &Arc<OperatorPeer>,
) {
    let m = master.clone();
    let j = jid.clone();
    let recorded = tokio::task::spawn_blocking(move || {
        let rows: Vec<NewReturn<'_>> = batch
            .iter()
            .map(|(id, ret)| NewReturn {
                minion: id,
                success: ret.success,
                retcode: ret.retcode,
                ret: &ret.ret,
            })
            .collect();
        let r = m.jobs.lock().unwrap().record_returns(&j, &rows);
        (r.map(|_| ()), batch)
    })
    .await;
    let batch = match recorded {
        Ok((r, batch)) => {
            if let Err(e) = r {
                tracing::warn!(jid = %jid, error = %e, "cannot record returns");
            }
            batch
        }
        Err(e) => {
            tracing::error!(jid = %jid, error = %e, "recording returns failed");
            return;
        }
    };
    master
        .events
        .job_returns(jid, &function_of(what), &args_of(what), &batch);
    for (minion, ret) in batch {
        let _ = sink.send(&OpReply::Returned { minion, ret });
    }
}

/// What every minion of a publish is asked, with the job's environment.
pub(super) struct JobSpec {
    pub(super) what: PublishWhat,
    pub(super) env: JobEnv,
    /// `master apply --plan`: the compiles, checked against the plan.
    pub(super) plan: Option<Planned>,
}

pub(super) struct OneJob {
    pub(super) master: Arc<Master>,
    pub(super) tree: Arc<Tree>,
    pub(super) jid: Jid,
    pub(super) id: String,
    pub(super) spec: Arc<JobSpec>,
    pub(super) done: mpsc::UnboundedSender<(String, JobReturn)>,
    pub(super) compiles: Arc<Semaphore>,
    /// The session to run it on (a minion's own request); `None`: the
    /// minion's live session.
    pub(super) session: Option<(Arc<MinionPeer>, Arc<super::probe::ProbeReplies>)>,
}

impl OneJob {
    pub(super) async fn start(self) {
        let session = match &self.session {
            Some(s) => Some(s.clone()),
            None => self.master.live_peer(&self.id),
        };
        let Some((peer, replies)) = session else {
            return;
        };
        let probe = super::mine::with_mine(
            &self.master,
            Arc::new(RemoteProbe {
                peer: peer.clone(),
                replies,
            }),
        );
        let (sls, test, master_side) = match &self.spec.what {
            PublishWhat::Apply { sls, test, .. } => (sls.clone(), *test, None),
            PublishWhat::Run { fun, args, kwargs } => {
                match super::runfun::master_side(fun, args, kwargs) {
                    Some(MasterCall::Apply { mods, test, .. }) => (mods, test, None),
                    Some(MasterCall::SlsId { mods, test, .. }) => (mods, test, None),
                    Some(MasterCall::Single { test, .. }) => (Vec::new(), test, None),
                    Some(other) => (Vec::new(), false, Some(other)),
                    None => {
                        self.send_run(&peer);
                        return;
                    }
                }
            }
        };
        let grains = match self.master.grains.get(&self.id) {
            Some(g) => g.value(),
            None => serde_json::json!({"id": self.id}),
        };
        let _permit = self.compiles.clone().acquire_owned().await;
        let tree = self.tree.clone();
        let id = self.id.clone();
        if let Some(side) = master_side {
            let ret = tokio::task::spawn_blocking(move || {
                super::runfun::answer(&side, &tree, &id, &grains, probe, &peer)
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
            let _ = self.done.send((self.id.clone(), to_return(&self.jid, ret)));
            return;
        }
        let master = self.master.clone();
        let spec = self.spec.clone();
        let planned = spec.plan.as_ref().and_then(|plan| plan.take(&id));
        let compiled = match planned {
            Some(c) => Ok(Ok(c)),
            None => {
                tokio::task::spawn_blocking(move || {
                    super::runfun::compile_run(
                        &master.compiled,
                        &tree,
                        &id,
                        &grains,
                        probe,
                        &sls,
                        &spec.what,
                        &spec.env,
                    )
                })
                .await
            }
        };
        let compiled = match compiled {
            Ok(Ok(c)) => c,
            Ok(Err(errors)) => {
                let list = errors
                    .0
                    .iter()
                    .map(|e| Value::String(e.to_string()))
                    .collect();
                let ret = JobReturn {
                    jid: self.jid.clone(),
                    success: false,
                    ret: Value::Array(list),
                    retcode: 1,
                };
                let _ = self.done.send((self.id.clone(), ret));
                return;
            }
            Err(e) => {
                let _ = self
                    .done
                    .send((self.id.clone(), to_return(&self.jid, Err(e.to_string()))));
                return;
            }
        };
        if let Some(why) = compiled.no_states {
            // Salt's minion answers this without running anything: so does
            // the master, sending nothing.
            let ret = JobReturn {
                jid: self.jid.clone(),
                success: false,
                ret: why.report().to_json(),
                retcode: 2,
            };
            let _ = self.done.send((self.id.clone(), ret));
            return;
        }
        let blobs: HashMap<String, String> = compiled
            .manifest
            .iter()
            .map(|(url, sha)| (sha.clone(), url.clone()))
            .collect();
        self.master.running.lock().unwrap().insert(
            (self.jid.clone(), self.id.clone()),
            RunningJob {
                session: Some(compiled.session.clone()),
                saltenvs: self.tree.trees.states.saltenvs().clone(),
                git: self.tree.git.clone(),
                done: self.done.clone(),
                blobs,
            },
        );
        let job = Job {
            jid: self.jid.clone(),
            kind: JobKind::Apply {
                chunks: compiled.chunks,
                test,
                pillar: compiled.pillar,
                manifest: compiled.manifest,
            },
        };
        if let Err(e) = peer.send(&MasterMsg::Job(job)) {
            tracing::warn!(minion = %self.id, error = %e, "cannot send a job");
        }
    }

    /// An execution function that runs on the minion.
    fn send_run(&self, peer: &MinionPeer) {
        let PublishWhat::Run { fun, args, kwargs } = &self.spec.what else {
            return;
        };
        self.master.running.lock().unwrap().insert(
            (self.jid.clone(), self.id.clone()),
            RunningJob {
                session: None,
                saltenvs: self.tree.trees.states.saltenvs().clone(),
                git: self.tree.git.clone(),
                done: self.done.clone(),
                blobs: HashMap::new(),
            },
        );
        let job = Job {
            jid: self.jid.clone(),
            kind: JobKind::Run {
                fun: fun.clone(),
                args: args.clone(),
                kwargs: kwargs.clone(),
            },
        };
        if let Err(e) = peer.send(&MasterMsg::Job(job)) {
            tracing::warn!(minion = %self.id, error = %e, "cannot send a job");
        }
    }
}

fn to_return(jid: &Jid, ret: Result<Value, String>) -> JobReturn {
    match ret {
        Ok(v) => JobReturn {
            jid: jid.clone(),
            success: true,
            ret: v,
            retcode: 0,
        },
        Err(e) => JobReturn {
            jid: jid.clone(),
            success: false,
            ret: Value::String(e),
            retcode: 1,
        },
    }
}

/// `master render ID [SLS...]`: the low chunks that minion would get.
pub async fn render_for(
    master: Arc<Master>,
    id: String,
    sls: Vec<String>,
    job: states::compile::JobEnv,
) -> Result<Value, String> {
    crate::pki::validate_id(&id).map_err(|e| e.to_string())?;
    let grains = master
        .grains
        .get(&id)
        .map(|g| g.value())
        .ok_or_else(|| format!("no cached grains for {id}: it has never connected"))?;
    let tree = master.tree();
    let probe = probe_for(&master, &id);
    tokio::task::spawn_blocking(
        move || match compile(&tree, &id, &grains, probe, &sls, &job) {
            Ok(c) => {
                let mut chunks = Value::Array(c.chunks.into_iter().map(Value::Object).collect());
                tree.hide_secrets(&id, &mut chunks);
                Ok(chunks)
            }
            Err(errors) => Err(errors
                .0
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n\n")),
        },
    )
    .await
    .map_err(|e| e.to_string())?
}
