//! `minion swarm`: many minions in one process against a real master, for
//! scale tests and benchmarks (see [`crate::swarm`]).
use std::path::PathBuf;
use std::time::Duration;

use crate::daemon::DaemonConfig;
use crate::local::{LocalInputs, LocalOpts};
use crate::swarm::{self, SwarmSpec};

#[derive(Debug, clap::Args)]
pub struct SwarmArgs {
    /// How many minions.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Ids are `<prefix>-<index>`.
    #[arg(long, default_value = "swarm")]
    pub prefix: String,
    /// Each minion's key, cache and state root go under DIR/<id>/.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Spread the minions' first connects over this many seconds.
    #[arg(long, default_value_t = 0.0)]
    pub ramp: f64,
    /// Runtime worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(a: SwarmArgs, opts: &LocalOpts) -> anyhow::Result<i32> {
    anyhow::ensure!(a.count > 0, "--count must be at least 1");
    anyhow::ensure!(
        a.ramp.is_finite() && a.ramp >= 0.0,
        "--ramp must be a number of seconds"
    );
    let inputs = LocalInputs::load(opts)?;
    let mut template = DaemonConfig::from_raw(inputs.id.clone(), &inputs.config.raw)?;
    // Grains of a swarm do not change; nothing to detect again.
    template.grains_refresh = Duration::ZERO;
    let limit = swarm::raise_fd_limit();
    let sockets = a.count * swarm::sessions_per_member(&template);
    if (limit as usize) < sockets + 64 {
        tracing::warn!(
            limit,
            count = a.count,
            sockets,
            "the open-file limit is below one socket per minion and master"
        );
    }
    let spec = SwarmSpec {
        count: a.count,
        prefix: a.prefix,
        dir: a.dir,
        ramp: Duration::from_secs_f64(a.ramp),
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = a.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(async move {
        tokio::select! {
            _ = swarm::run(spec, template, inputs.grains) => {},
            _ = tokio::signal::ctrl_c() => {},
        }
    });
    Ok(0)
}
