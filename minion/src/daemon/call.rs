//! `minion apply` through the master (Salt's `salt-call state.apply`): a
//! one-shot session with the daemon's identity (config, key, pinned master
//! key) claimed as [`Claim::MinionCall`], so the master keeps the daemon's
//! session of the same id. It sends this host's grains, asks for the run
//! ([`MinionMsg::StartJob`]), runs the job the master sends exactly as the
//! daemon runs one (`exec::run_job`, files through `sources`), returns it,
//! and hands back the return as the master recorded it.
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use common::data::Value;
use tokio::sync::mpsc;
use transport::keys::KeyPair;
use transport::link::{self, LinkOptions};
use transport::wire::{Admission, Claim, Jid, JobReturn, MasterMsg, MinionJob, MinionMsg};

use super::exec::{self, JobEnv};
use super::jobs::JobTable;
use super::masters::{MasterAddr, Uplinks};
use super::DaemonConfig;

/// Reaching the master and its admission, at most (an unreachable master is
/// an error after this, not a hang).
const REACH_LIMIT: Duration = Duration::from_secs(20);
/// A master that says nothing for this long (it answers every ping) is lost.
const SILENCE_LIMIT: Duration = Duration::from_secs(30);
const PING_EVERY: Duration = Duration::from_secs(3);
/// After the master acked the return, how long to wait for it recorded.
const RECORD_WAIT: Duration = Duration::from_secs(30);

/// Asks the master for `job` on this minion, runs it, and returns the
/// return as recorded in the master's job cache (or, if the master did not
/// say it recorded it, as run here).
pub async fn apply(
    config: &DaemonConfig,
    grains: Value,
    job: MinionJob,
) -> anyhow::Result<JobReturn> {
    transport::keys::create_private_dir(&config.pki_dir)?;
    let key = KeyPair::load_or_create(&config.pki_dir.join("minion.key"))?;
    // With several masters, the first that answers, as the operator's CLI
    // picks one; a master that refuses this minion ends the call.
    let mut unreachable = Vec::new();
    let mut reached = None;
    for master in &config.masters {
        match reach(config, master, &key).await {
            Ok(r) => {
                reached = Some((master, r));
                break;
            }
            Err(Unreached::Down(e)) => unreachable.push(e),
            Err(Unreached::Refused(e)) => return Err(e),
        }
    }
    let Some((master, (server_key, tx, mut rx))) = reached else {
        bail!("{}", unreachable.join("; "));
    };
    if config.masters.len() > 1 {
        tracing::info!(master = %master, "using this master");
    }
    super::trust_on_first_use(config, master, &server_key).map_err(|e| anyhow!(e))?;
    let uplinks = Arc::new(Uplinks::new(std::slice::from_ref(master)));
    let uplink = uplinks.slot(0).clone();
    uplink.set(Some(tx.clone()));
    tx.send(&MinionMsg::Grains {
        grains: grains.clone(),
    })
    .await
    .context("cannot send grains to the master")?;
    tx.send(&MinionMsg::StartJob { req: 1, job })
        .await
        .context("cannot ask the master for the job")?;
    let fixed = grains.clone();
    let env = Arc::new(JobEnv {
        uplink: uplink.clone(),
        uplinks,
        slot: 0,
        grains: RwLock::new(grains),
        grains_file: config.grains_file.clone(),
        grains_source: Arc::new(move || fixed.clone()),
        root: config.state_root.clone(),
        file_cache: config.cachedir.join("files"),
        trim_code_pages: false,
        jobs: Arc::new(JobTable::default()),
    });
    let (finished, mut finished_rx) = mpsc::unbounded_channel::<JobReturn>();
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = Instant::now();
    let mut jid: Option<Jid> = None;
    let mut ours: Option<JobReturn> = None;
    let mut acked: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    bail!("lost the master: nothing from it for {:?}", last_heard.elapsed());
                }
                if let (Some(at), Some(ret)) = (acked, &ours) {
                    if at.elapsed() > RECORD_WAIT {
                        tracing::warn!(jid = %ret.jid, "the master acked the return but did not say it recorded it");
                        return Ok(ret.clone());
                    }
                }
                let _ = tx.send(&MinionMsg::Ping).await;
            }
            Some(ret) = finished_rx.recv() => {
                ours = Some(ret.clone());
                tx.send(&MinionMsg::Return(ret)).await.context("cannot return the result to the master")?;
            }
            msg = rx.recv::<MasterMsg>() => {
                let msg = msg.map_err(|e| anyhow!("lost the master: {e}"))?;
                last_heard = Instant::now();
                match msg {
                    MasterMsg::JobStarted { reply: Err(e), .. } => bail!("the master did not start the job: {e}"),
                    MasterMsg::JobStarted { reply: Ok(j), .. } => {
                        tracing::info!(jid = %j, "the master started the job");
                        jid = Some(j);
                    }
                    MasterMsg::Job(job) if jid.as_ref() == Some(&job.jid) && ours.is_none() => {
                        let env = env.clone();
                        let finished = finished.clone();
                        tokio::task::spawn_blocking(move || {
                            let ret = exec::run_job(&env, &job.jid, job.kind);
                            let _ = finished.send(ret);
                        });
                    }
                    MasterMsg::Job(job) => {
                        tracing::warn!(jid = %job.jid, "a job this call did not ask for; not run");
                    }
                    MasterMsg::Probe { req, call } => {
                        let tx = tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let reply = exec::answer_probe(call);
                            let _ = tx.blocking_send(&MinionMsg::ProbeReply { req, reply });
                        });
                    }
                    MasterMsg::ReturnAck { .. } => acked = Some(Instant::now()),
                    MasterMsg::JobRecorded { ret } if jid.as_ref() == Some(&ret.jid) => return Ok(ret),
                    MasterMsg::Admission(Admission::Refused { reason }) => {
                        bail!("the master closed this session: {reason}")
                    }
                    other => uplink.answer(other),
                }
            }
        }
    }
}

/// Why one master of the list was not used.
enum Unreached {
    /// Not reached, or silent: the next master may answer.
    Down(String),
    /// It answered and refused this minion (key pending or refused).
    Refused(anyhow::Error),
}

type Reached = (transport::keys::PublicKey, link::LinkTx, link::LinkRx);

/// Connects to `master` as a one-shot call session and waits for its
/// admission.
async fn reach(
    config: &DaemonConfig,
    master: &MasterAddr,
    key: &KeyPair,
) -> Result<Reached, Unreached> {
    let endpoint = master.endpoint();
    let claim = Claim::MinionCall {
        id: config.id.clone(),
    };
    let reached = tokio::time::timeout(REACH_LIMIT, async {
        let link = link::connect(
            &endpoint,
            key,
            &claim,
            |k| super::verify_master(config, master, k),
            LinkOptions::default(),
        )
        .await
        .map_err(|e| format!("cannot reach the master at {master}: {e}"))?;
        let mut rx = link.rx;
        let first = rx
            .recv::<MasterMsg>()
            .await
            .map_err(|e| format!("the master at {master}: {e}"))?;
        Ok::<_, String>((link.server_key, link.tx, rx, first))
    })
    .await
    .map_err(|_| {
        Unreached::Down(format!(
            "the master at {master} did not answer within {REACH_LIMIT:?}"
        ))
    })?
    .map_err(Unreached::Down)?;
    let (server_key, tx, rx, first) = reached;
    match first {
        MasterMsg::Admission(Admission::Accepted) => Ok((server_key, tx, rx)),
        MasterMsg::Admission(Admission::Pending) => Err(Unreached::Refused(anyhow!(
            "this minion's key is not accepted on the master {master} (it is pending there): run `master keys accept {}` on the master (fingerprint {})",
            config.id,
            key.public.fingerprint()
        ))),
        MasterMsg::Admission(Admission::Refused { reason }) => Err(Unreached::Refused(anyhow!(
            "this minion's key is not accepted on the master {master}: {reason}"
        ))),
        other => Err(Unreached::Down(format!(
            "unexpected first message from the master at {master}: {other:?}"
        ))),
    }
}
