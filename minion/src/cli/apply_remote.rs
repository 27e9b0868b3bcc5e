//! `minion apply [SLS ...] [--test]` without `--local`: Salt's `salt-call
//! state.apply`. The minion's own config and key (`master`, `master_port`,
//! `master_fingerprint`, `pki_dir`: the daemon's identity) ask the master
//! for this minion's states; the master compiles them with the grains sent
//! first, the job runs here as the daemon runs one (`daemon::call`), and
//! the result is printed as `--local` prints it, with the same exit
//! statuses, once it is in the master's job cache.
use anyhow::Result;
use common::data::Value;
use states::compile::JobEnv;
use states::run::Report;
use transport::wire::{EnvName, MinionJob, PublishEnv};

use super::apply::{print_report, report_errors, ApplyArgs, ApplyOut};
use crate::daemon::{call, DaemonConfig};
use crate::local::{LocalInputs, LocalOpts};

pub fn run(
    a: &ApplyArgs,
    job: JobEnv,
    sls: Vec<String>,
    opts: &LocalOpts,
    out: ApplyOut,
) -> Result<i32> {
    let inputs = LocalInputs::load(opts)?;
    let mut config = DaemonConfig::from_raw(inputs.id.clone(), &inputs.config.raw)?;
    config.grains_file = Some(inputs.grains_file.clone());
    if let Some(root) = &a.root {
        config.state_root = root.clone();
    }
    let job = MinionJob {
        sls,
        test: a.test,
        env: to_wire(&job)?,
        schedule: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let grains = inputs.grains.clone();
    let ret = runtime.block_on(call::apply(&config, grains, job));
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    let ret = ret?;
    match Report::from_json(&ret.ret) {
        // The master hid what gpg decrypted before the job cache had it.
        Some(report) => print_report(&report, out, a, |v| v),
        None => {
            // The tree did not compile (the master's errors), or the job
            // could not run here.
            let errors: Vec<String> = match &ret.ret {
                Value::Array(list) => list
                    .iter()
                    .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
                    .collect(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            };
            Ok(report_errors(&errors, out, a))
        }
    }
}

/// The job's environment as the request carries it (names checked).
fn to_wire(env: &JobEnv) -> Result<PublishEnv> {
    let name = |n: &Option<String>| -> Result<Option<EnvName>> {
        Ok(n.clone().map(EnvName::try_from).transpose()?)
    };
    Ok(PublishEnv {
        saltenv: name(&env.saltenv)?,
        pillarenv: name(&env.pillarenv)?,
        pillar: match &env.pillar {
            None => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => anyhow::bail!("pillar= must be a map"),
        },
    })
}
