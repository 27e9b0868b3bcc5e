//! `minion serve`: run the daemon in the foreground (systemd starts it so)
//! until SIGTERM or SIGINT, then stop without losing a job and exit 0.
use crate::daemon::{self, DaemonConfig};
use crate::local::{LocalInputs, LocalOpts};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

pub fn run(_a: ServeArgs, opts: &LocalOpts) -> anyhow::Result<i32> {
    let inputs = LocalInputs::load(opts)?;
    let mut config = DaemonConfig::from_raw(inputs.id.clone(), &inputs.config.raw)?;
    config.grains_file = Some(inputs.grains_file.clone());
    let opts = opts.clone();
    let first = std::sync::Mutex::new(Some(inputs.grains));
    let grains: daemon::GrainsSource = std::sync::Arc::new(move || {
        if let Some(g) = first.lock().unwrap().take() {
            return g;
        }
        LocalInputs::load(&opts)
            .map(|i| i.grains)
            .unwrap_or(common::data::Value::Null)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let stop = async {
            let signal = process_tuning::stop_signal::terminate_or_interrupt().await;
            tracing::info!(signal, "asked to stop");
        };
        daemon::serve_until(config, grains, stop).await
    })?;
    // A job cut off at the stop (see `daemon::stop`) is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(0)
}
