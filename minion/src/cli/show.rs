//! `minion show --local lowstate|highstate|top|pillar|sls NAME...`.
use common::data::Value;
use common::tree_error::TreeErrors;

use crate::local::{LocalInputs, LocalOpts};

use super::output::{print_local, OutFormat};

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Compile on this host with no master (the only mode until the daemons exist).
    #[arg(long, global = true)]
    pub local: bool,
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// The ordered low chunks of the highstate (`state.show_lowstate`).
    Lowstate,
    /// The rendered high data of the highstate (`state.show_highstate`).
    Highstate,
    /// The SLS files top.sls gives this minion (`state.show_top`).
    Top,
    /// This minion's pillar (`pillar.items`).
    Pillar,
    /// The high data of the named SLS files (`state.show_sls`).
    Sls {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

pub fn run(a: ShowArgs, opts: &LocalOpts, out: OutFormat) -> anyhow::Result<i32> {
    if !a.local {
        anyhow::bail!("only `minion show --local` exists so far: there is no master to ask");
    }
    let inputs = LocalInputs::load(opts)?;
    let result = compute(&inputs, &a.what);
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

fn compute(inputs: &LocalInputs, what: &What) -> Result<Value, TreeErrors> {
    let trees = inputs.trees();
    let m = inputs.minion();
    if let What::Lowstate = what {
        let chunks = trees.compile(&m, &[])?.chunks;
        return Ok(Value::Array(
            chunks.into_iter().map(Value::Object).collect(),
        ));
    }
    let pillar = trees.pillar(&m)?;
    Ok(match what {
        What::Pillar => pillar,
        What::Highstate => Value::Object(trees.states.highstate(&m, &pillar)?),
        What::Top => trees.states.top(&m, &pillar)?,
        What::Sls { names } => Value::Object(trees.states.sls(&m, &pillar, names)?),
        What::Lowstate => unreachable!("handled above"),
    })
}
