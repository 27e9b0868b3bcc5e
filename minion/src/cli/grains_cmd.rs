//! `minion grains`.
use crate::local::{LocalInputs, LocalOpts};

use super::output::{print_local, OutFormat};

#[derive(Debug, clap::Args)]
pub struct GrainsArgs {
    #[command(flatten)]
    pub local: LocalOpts,
    /// Output format.
    #[arg(long, value_enum, default_value = "nested")]
    pub out: OutFormat,
}

pub fn run(a: GrainsArgs) -> anyhow::Result<i32> {
    let inputs = LocalInputs::load(&a.local)?;
    print_local(a.out, &inputs.grains)?;
    Ok(0)
}
