//! `minion serve`: run the daemon in the foreground (systemd starts it so).
use crate::daemon::{self, DaemonConfig};
use crate::local::{LocalInputs, LocalOpts};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub opts: LocalOpts,
}

pub fn run(a: ServeArgs) -> anyhow::Result<i32> {
    let inputs = LocalInputs::load(&a.opts)?;
    let config = DaemonConfig::from_raw(inputs.id.clone(), &inputs.config.raw)?;
    let opts = a.opts.clone();
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
        tokio::select! {
            r = daemon::serve(config, grains) => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })?;
    Ok(0)
}
