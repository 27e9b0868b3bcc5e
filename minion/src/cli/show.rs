//! `minion show --local lowstate|highstate|top|pillar|sls NAME...`.
use common::data::Value;
use common::tree_error::TreeErrors;

use crate::local::{JobOpts, LocalInputs, LocalOpts};
use states::compile::JobEnv;

use super::output::{print_local, OutFormat};

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Compile on this host with no master (the only mode until the daemons exist).
    #[arg(long, global = true)]
    pub local: bool,
    #[command(flatten)]
    pub job: JobOpts,
    #[command(subcommand)]
    pub what: What,
}

/// Salt's `saltenv=ENV`, `pillarenv=ENV` and `pillar='{"k": "v"}'` words.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct JobWords {
    #[arg(value_name = "saltenv=ENV|pillarenv=ENV|pillar=MAP")]
    pub words: Vec<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// The ordered low chunks of the highstate (`state.show_lowstate`).
    Lowstate(JobWords),
    /// The rendered high data of the highstate (`state.show_highstate`).
    Highstate(JobWords),
    /// The SLS files top.sls gives this minion (`state.show_top`).
    Top(JobWords),
    /// This minion's pillar (`pillar.items`).
    Pillar(JobWords),
    /// The high data of the named SLS files (`state.show_sls`), with Salt's
    /// `saltenv=`/`pillarenv=`/`pillar=` words among them.
    Sls {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

impl What {
    fn words(&self) -> &[String] {
        match self {
            What::Lowstate(w) | What::Highstate(w) | What::Top(w) | What::Pillar(w) => &w.words,
            What::Sls { names } => names,
        }
    }
}

pub fn run(a: ShowArgs, opts: &LocalOpts, out: OutFormat) -> anyhow::Result<i32> {
    if !a.local {
        anyhow::bail!("only `minion show --local` exists so far: there is no master to ask");
    }
    let (job, names) = a.job.job(a.what.words())?;
    if names.is_empty() && matches!(a.what, What::Sls { .. }) {
        anyhow::bail!("`show sls` needs at least one SLS name");
    }
    if !names.is_empty() && !matches!(a.what, What::Sls { .. }) {
        anyhow::bail!("unexpected words: only `show sls` takes SLS names");
    }
    let inputs = LocalInputs::load(opts)?;
    let result = compute(&inputs, &a.what, &job, &names);
    match result {
        Ok(v) => {
            print_local(out, &v)?;
            Ok(0)
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("error: {e}\n");
            }
            eprintln!("{} error(s); nothing was compiled", errors.0.len());
            if out == OutFormat::Json {
                let list = errors
                    .0
                    .iter()
                    .map(|e| Value::String(e.to_string()))
                    .collect();
                print_local(out, &Value::Array(list))?;
            }
            Ok(1)
        }
    }
}

fn compute(
    inputs: &LocalInputs,
    what: &What,
    job: &JobEnv,
    names: &[String],
) -> Result<Value, TreeErrors> {
    let trees = inputs.trees();
    let m = inputs.minion();
    if let What::Lowstate(_) = what {
        let chunks = trees.compile_job(&m, &[], job)?.chunks;
        return Ok(Value::Array(
            chunks.into_iter().map(Value::Object).collect(),
        ));
    }
    let pillar = trees.job_pillar(&m, job)?;
    let (states, _) = trees.for_job(job);
    Ok(match what {
        What::Pillar(_) => pillar,
        What::Highstate(_) => Value::Object(states.highstate(&m, &pillar)?),
        What::Top(_) => states.top(&m, &pillar)?,
        What::Sls { .. } => Value::Object(states.sls(&m, &pillar, names)?),
        What::Lowstate(_) => unreachable!("handled above"),
    })
}
