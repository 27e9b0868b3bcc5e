//! `minion serve`: the daemon. Connects to its master or masters (DEALER,
//! Noise XX; `masters` says how many sessions), pins each master's key,
//! sends its grains, runs the jobs it is sent, and keeps each result on disk
//! until a master acks it. When a master goes away it reconnects with a
//! fresh socket and jittered back-off.
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::data::Value;
use transport::keys::KeyPair;
use transport::link::{self, LinkOptions};
use transport::wire::{Admission, Claim, MasterMsg, MinionMsg};

pub mod call;
mod config;
pub mod exec;
mod jobs;
pub mod masters;
pub mod outbox;
pub mod schedule;
pub mod sources;
mod stop;
mod trust;
pub mod uplink;

pub use config::{DaemonConfig, GrainsSource, DEFAULT_CACHEDIR};

use masters::{MasterType, Uplinks};
use outbox::{Outbox, Start};
use stop::{RunningJobs, Stopping};
use trust::{trust_on_first_use, verify_master};

/// Why a session ended.
enum Ended {
    /// The key is pending; `waited` in the session for the master to
    /// accept it.
    Pending {
        waited: Duration,
    },
    Refused(String),
    Lost(String),
    /// The master answered `BUSY`: it is up and admitting others at its
    /// handshake rate.
    Busy,
}

/// How long to wait after `BUSY` (before jitter). It does not grow: the
/// master is up and a retry costs it no key agreement, while a doubling
/// back-off left the last of 10,000 minions sleeping 30 s after a restart.
const BUSY_WAIT: Duration = Duration::from_secs(2);

/// Runs the daemon for good (a swarm's minions).
pub async fn serve(config: DaemonConfig, grains: GrainsSource) -> anyhow::Result<()> {
    serve_until(config, grains, std::future::pending()).await
}

/// Runs the daemon until `stop` completes, then stops as `stop` (the
/// module) describes and returns.
pub async fn serve_until(
    config: DaemonConfig,
    grains: GrainsSource,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let (ask, stopping) = tokio::sync::watch::channel(None);
    let jobs: Arc<RunningJobs> = Arc::new(tokio::sync::watch::Sender::new(Default::default()));
    let grace = config.stop_timeout;
    tokio::select! {
        r = run(config, grains, stopping, jobs) => r,
        _ = async {
            stop.await;
            tracing::info!(waiting_at_most = ?grace, "stopping: no new jobs; waiting for the running ones");
            ask.send_replace(Some(tokio::time::Instant::now() + grace));
            std::future::pending::<()>().await
        } => unreachable!("never completes"),
    }
}

async fn run(
    mut config: DaemonConfig,
    grains: GrainsSource,
    stopping: Stopping,
    jobs: Arc<RunningJobs>,
) -> anyhow::Result<()> {
    transport::keys::create_private_dir(&config.pki_dir)?;
    let key = KeyPair::load_or_create(&config.pki_dir.join("minion.key"))?;
    let outbox = Arc::new(Outbox::open(&config.cachedir)?);
    if config.random_master {
        let keep_first = config.master_type == MasterType::Failover && config.master_failback;
        masters::shuffle(&mut config.masters, keep_first);
    }
    tracing::info!(id = %config.id, masters = %config.masters_text(), master_type = config.master_type.name(),
        fingerprint = %key.public.fingerprint(), "minion starting");
    let config_schedule = config.schedule.clone();
    let d = Arc::new(Daemon {
        uplinks: Arc::new(Uplinks::new(&config.masters)),
        config,
        key,
        grains,
        outbox,
        stopping,
        jobs,
        table: Arc::new(jobs::JobTable::default()),
        scheduler: std::sync::Mutex::new(schedule::Scheduler::new(config_schedule)),
        schedule_req: std::sync::atomic::AtomicU64::new(0),
    });
    let mut sessions = tokio::task::JoinSet::new();
    match d.config.master_type {
        MasterType::Str => {
            for slot in 0..d.config.masters.len() {
                sessions.spawn(masters::keep_session(d.clone(), slot));
            }
        }
        MasterType::Failover => {
            sessions.spawn(masters::failover(d.clone()));
        }
    }
    stop::stopped(&d.stopping, &d.jobs, &d.outbox, &d.uplinks).await;
    // The sessions close with their tasks.
    sessions.shutdown().await;
    stop::checkpoint_cut_off(&d.jobs, &d.outbox, d.config.stop_timeout);
    tracing::info!("stopped");
    Ok(())
}

/// What every session of the daemon shares.
struct Daemon {
    config: DaemonConfig,
    key: KeyPair,
    grains: GrainsSource,
    outbox: Arc<Outbox>,
    uplinks: Arc<Uplinks>,
    stopping: Stopping,
    jobs: Arc<RunningJobs>,
    /// What each running job is, for `saltutil.running`/`kill_job`.
    table: Arc<jobs::JobTable>,
    /// The `schedule`: one for the daemon, whichever session is up. With
    /// several masters, the session that takes a due entry asks its master.
    scheduler: std::sync::Mutex<schedule::Scheduler>,
    schedule_req: std::sync::atomic::AtomicU64,
}

/// One session with the master at `slot`, until it ends.
async fn session(d: &Daemon, slot: usize) -> Ended {
    let config = &d.config;
    let master = &config.masters[slot];
    let (grains, outbox) = (&d.grains, &d.outbox);
    let uplink = d.uplinks.slot(slot);
    let claim = Claim::Minion {
        id: config.id.clone(),
    };
    let link = match link::connect(
        &master.endpoint(),
        &d.key,
        &claim,
        |k| verify_master(config, master, k),
        LinkOptions::default(),
    )
    .await
    {
        Ok(l) => l,
        Err(e @ link::LinkError::ServerKey { .. }) => return Ended::Refused(e.to_string()),
        Err(link::LinkError::Busy) => return Ended::Busy,
        Err(e) => return Ended::Lost(e.to_string()),
    };
    if let Err(e) = trust_on_first_use(config, master, &link.server_key) {
        return Ended::Lost(e);
    }
    let mut rx = link.rx;
    let tx = link.tx;
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv::<MasterMsg>()).await;
    match first {
        Ok(Ok(MasterMsg::Admission(Admission::Accepted))) => {}
        Ok(Ok(MasterMsg::Admission(Admission::Pending))) => {
            tracing::warn!(id = %config.id, "this minion's key is pending on the master; run `master keys accept {}` there", config.id);
            // The master keeps the session open and admits it on it as soon
            // as the key is accepted; until then, or until the wait is over,
            // there is nothing else to do.
            let since = Instant::now();
            let next = tokio::time::timeout(config.acceptance_wait, rx.recv::<MasterMsg>()).await;
            match next {
                Ok(Ok(MasterMsg::Admission(Admission::Accepted))) => {
                    tracing::info!(id = %config.id, "the master accepted this minion's key");
                }
                Ok(Ok(MasterMsg::Admission(Admission::Refused { reason }))) => {
                    return Ended::Refused(reason)
                }
                _ => {
                    return Ended::Pending {
                        waited: since.elapsed(),
                    }
                }
            }
        }
        Ok(Ok(MasterMsg::Admission(Admission::Refused { reason }))) => {
            return Ended::Refused(reason)
        }
        Ok(Ok(other)) => return Ended::Lost(format!("unexpected first message {other:?}")),
        Ok(Err(e)) => return Ended::Lost(e.to_string()),
        Err(_) => return Ended::Lost("no admission from the master".into()),
    }
    tracing::info!(id = %config.id, master = %master, "connected to the master");
    if config.trim_code_pages {
        process_tuning::code_pages::trim();
    }
    uplink.set(Some(tx.clone()));
    let mut sent_grains = grains();
    if tx
        .send(&MinionMsg::Grains {
            grains: sent_grains.clone(),
        })
        .await
        .is_err()
    {
        return Ended::Lost("cannot send grains".into());
    }
    for ret in outbox.pending() {
        tracing::info!(jid = %ret.jid, "delivering a result kept while the master was away");
        if tx.send(&MinionMsg::Return(ret)).await.is_err() {
            return Ended::Lost("cannot deliver the outbox".into());
        }
    }
    let env = Arc::new(exec::JobEnv {
        uplink: uplink.clone(),
        uplinks: d.uplinks.clone(),
        slot,
        grains: std::sync::RwLock::new(sent_grains.clone()),
        grains_file: config.grains_file.clone(),
        grains_source: grains.clone(),
        root: config.state_root.clone(),
        file_cache: config.cachedir.join("files"),
        trim_code_pages: config.trim_code_pages,
        jobs: d.table.clone(),
    });
    let mut last_heard = Instant::now();
    // Pinged often enough that a live master is heard within `dead_after`.
    let dead_after = config.dead_after();
    let mut ping = tokio::time::interval(
        config
            .ping_interval
            .min(dead_after / 3)
            .max(Duration::from_millis(100)),
    );
    let refresh_every = if config.grains_refresh.is_zero() {
        Duration::from_secs(u64::from(u32::MAX))
    } else {
        config.grains_refresh
    };
    let mut refresh = tokio::time::interval(refresh_every);
    refresh.tick().await;
    // The first tick is at once: the mine is sent on every (re)connection.
    let mut mine = tokio::time::interval(config.mine_interval);
    // The config's, with the pillar's the master sends merged over them.
    let mut mine_functions = config.mine_functions.clone();
    let scheduled = !d.scheduler.lock().unwrap().is_empty();
    loop {
        let next_due = d.scheduler.lock().unwrap().next_due();
        tokio::select! {
            _ = tokio::time::sleep_until(next_due), if scheduled => {
                let due = d.scheduler.lock().unwrap().take_due(tokio::time::Instant::now());
                for entry in due {
                    if stop::is_stopping(&d.stopping) {
                        break;
                    }
                    let schedule_req = 1 + d.schedule_req.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!(schedule = %entry.name, "a scheduled run is due; asking the master for it");
                    if tx.send(&MinionMsg::StartJob { req: schedule_req, job: entry.job }).await.is_err() {
                        return Ended::Lost("cannot ask for a scheduled run".into());
                    }
                }
            }
            _ = mine.tick(), if !mine_functions.is_empty() => {
                send_mine(config, &mine_functions, &sent_grains, &tx);
            }
            _ = refresh.tick() => {
                let g = grains.clone();
                let now = tokio::task::spawn_blocking(move || g()).await.unwrap_or(Value::Null);
                if now.is_object() && now != sent_grains {
                    tracing::info!("grains changed; sending them to the master");
                    sent_grains = now.clone();
                    *env.grains.write().unwrap() = now.clone();
                    if tx.send(&MinionMsg::Grains { grains: now }).await.is_err() {
                        return Ended::Lost("cannot send grains".into());
                    }
                }
            }
            msg = rx.recv::<MasterMsg>() => {
                let msg = match msg {
                    Ok(m) => m,
                    Err(e) => return Ended::Lost(e.to_string()),
                };
                last_heard = Instant::now();
                if let Some(path) = &config.record_received {
                    record(path, &msg);
                }
                match msg {
                    MasterMsg::Pong => {}
                    MasterMsg::Admission(Admission::Refused { reason }) => return Ended::Refused(reason),
                    MasterMsg::Admission(_) => {}
                    MasterMsg::Job(job) if stop::is_stopping(&d.stopping) => {
                        // Not recorded as started: the master reports it as
                        // not returned, and it may be sent again.
                        tracing::warn!(jid = %job.jid, "stopping: not starting a new job");
                    }
                    MasterMsg::Job(job) => on_job(job, &env, outbox, &tx, &d.jobs),
                    MasterMsg::ReturnAck { jid } => {
                        outbox.ack(&jid);
                        d.uplinks.acked(&jid);
                    }
                    MasterMsg::MineFunctions { functions } => {
                        let merged = common::config::merge_mine_functions(&config.mine_functions, &functions);
                        if merged != mine_functions {
                            tracing::info!(functions = merged.len(), "mine functions from pillar; updating the mine");
                            mine_functions = merged;
                            send_mine(config, &mine_functions, &sent_grains, &tx);
                        }
                    }
                    MasterMsg::Probe { req, call } => {
                        let tx = tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let reply = exec::answer_probe(call);
                            let _ = tx.blocking_send(&MinionMsg::ProbeReply { req, reply });
                        });
                    }
                    MasterMsg::JobStarted { reply: Ok(jid), .. } => {
                        tracing::info!(jid = %jid, "the master started a scheduled run");
                    }
                    MasterMsg::JobStarted { reply: Err(e), .. } => {
                        tracing::warn!(error = %e, "the master did not start a scheduled run");
                    }
                    MasterMsg::JobRecorded { ret } => {
                        tracing::debug!(jid = %ret.jid, retcode = ret.retcode, "a scheduled run is in the master's job cache");
                    }
                    other => uplink.answer(other),
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > dead_after {
                    return Ended::Lost(format!("nothing from the master for {:?}", last_heard.elapsed()));
                }
                if tx.send(&MinionMsg::Ping).await.is_err() {
                    return Ended::Lost("cannot send a ping".into());
                }
            }
        }
    }
}

/// Runs the mine functions off the runtime and sends their returns.
fn send_mine(
    config: &DaemonConfig,
    functions: &[common::config::MineFunction],
    grains: &Value,
    tx: &link::LinkTx,
) {
    let functions = functions.to_vec();
    let root = config.state_root.clone();
    let grains = grains.clone();
    let tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let data = crate::mine::run(&functions, &root, &grains);
        let size = transport::wire::mine_size(&data);
        if size > transport::wire::MAX_MINE {
            tracing::error!(
                bytes = size,
                limit = transport::wire::MAX_MINE,
                "mine data over the limit; not sent"
            );
            return;
        }
        tracing::debug!(functions = data.len(), "sending mine data");
        let _ = tx.blocking_send(&MinionMsg::Mine { data });
    });
}

fn record(path: &std::path::Path, msg: &MasterMsg) {
    use std::io::Write;
    let line = serde_json::to_string(msg).unwrap_or_default();
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"));
}

fn on_job(
    job: transport::wire::Job,
    env: &Arc<exec::JobEnv>,
    outbox: &Arc<Outbox>,
    tx: &link::LinkTx,
    jobs: &Arc<RunningJobs>,
) {
    let jid = job.jid.clone();
    match outbox.start(&jid) {
        Ok(Start::New) => {}
        Ok(Start::SeenBefore) => {
            // Seen before: never run twice; resend the result if we have it.
            tracing::warn!(jid = %jid, "a job id seen before; not running it again");
            if let Some(ret) = outbox.get(&jid) {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(&MinionMsg::Return(ret)).await;
                });
            }
            return;
        }
        Ok(Start::TooOld) => {
            tracing::warn!(jid = %jid, "a job id older than every job remembered; not running it");
            return;
        }
        Err(e) => {
            // Run unrecorded, a resent job could run twice; say why at once
            // rather than leave the operator waiting for the timeout.
            tracing::error!(jid = %jid, error = %e, "cannot record the job; not running it");
            let ret = transport::wire::JobReturn {
                jid: jid.clone(),
                success: false,
                ret: Value::String(format!(
                    "Job {jid} was not run: this minion cannot record it as started ({e})"
                )),
                retcode: 1,
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(&MinionMsg::Return(ret)).await;
            });
            return;
        }
    }
    tracing::info!(jid = %jid, "running a job");
    env.uplinks.sent_by(&jid, env.slot);
    let env = env.clone();
    let outbox = outbox.clone();
    jobs.send_modify(|running| {
        running.insert(jid.clone());
    });
    let jobs = jobs.clone();
    tokio::task::spawn_blocking(move || {
        let durable = exec::changes_host(&job.kind);
        let ret = exec::run_job(&env, &jid, job.kind);
        stop::finish(&jobs, &outbox, &ret, durable);
        // To the master that sent it, else any other: its session may be gone.
        if let Err(e) = env.uplinks.blocking_return(ret) {
            tracing::warn!(jid = %jid, error = %e, "result kept in the outbox until the master is back");
        }
        // Between jobs the state engine's code need not stay resident.
        if env.trim_code_pages {
            process_tuning::code_pages::trim();
        }
    });
}
