//! `minion grains`.
use crate::local::{LocalInputs, LocalOpts};

use super::output::{print_local, OutFormat};

#[derive(Debug, clap::Args)]
pub struct GrainsArgs {}

pub fn run(_a: GrainsArgs, local: &LocalOpts, out: OutFormat) -> anyhow::Result<i32> {
    let inputs = LocalInputs::load(local)?;
    print_local(out, &inputs.grains)?;
    Ok(0)
}
