//! `master serve`: runs until SIGTERM (`systemctl stop`) or SIGINT, then
//! stops admitting, records what it was handed and exits 0.
use anyhow::{bail, Context};

use super::{ClientOpts, Out};
use crate::config::{MasterConfig, DEFAULT_MASTER_CONFIG};
use crate::daemon::{self, Master};

/// Only `--config` (defined once, on the top level) applies to the daemon.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

pub fn run(_a: ServeArgs, client: &ClientOpts, out: Option<Out>) -> anyhow::Result<i32> {
    // The operator's flags mean nothing to the daemon: refused, not ignored.
    if client.master.is_some() || client.operator_key.is_some() {
        bail!("`master serve` takes --config only; --master and --operator-key are for the operator's commands");
    }
    if out.is_some() {
        bail!("`master serve` prints no result, so it takes no --out");
    }
    let config = match &client.config {
        Some(p) => MasterConfig::load(p, true)?,
        None => MasterConfig::load(std::path::Path::new(DEFAULT_MASTER_CONFIG), false)?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.worker_threads.max(1))
        // Compile threads of a finished job go soon: each holds a stack and
        // an allocator heap while it waits for work.
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let master = Master::open(config).context("cannot open the master's state")?;
        daemon::start(master.clone()).await?;
        let signal = tokio::select! {
            _ = daemon::housekeeping(master.clone()) => unreachable!("housekeeping runs forever"),
            s = process_tuning::stop_signal::terminate_or_interrupt() => s,
        };
        tracing::info!(signal, "stopping the master");
        daemon::stop(&master).await;
        anyhow::Ok(())
    })?;
    // Dropping the runtime waits for blocking tasks: a late return being
    // recorded is written before the process exits.
    drop(runtime);
    Ok(0)
}
