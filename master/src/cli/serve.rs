//! `master serve`.
use std::path::PathBuf;

use anyhow::Context;

use crate::config::{MasterConfig, DEFAULT_MASTER_CONFIG};
use crate::daemon::{self, Master};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(a: ServeArgs) -> anyhow::Result<i32> {
    let config = match &a.config {
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
        daemon::housekeeping(master).await;
        anyhow::Ok(())
    })?;
    Ok(0)
}
