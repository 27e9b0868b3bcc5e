//! The `minion` command line.
mod apply;
mod apply_remote;
mod grains_cmd;
pub mod output;
mod serve;
mod show;
mod swarm;

use clap::{Parser, Subcommand};

use crate::local::LocalOpts;
pub use output::{Out, OutFormat};

#[derive(Debug, Parser)]
#[command(
    name = "minion",
    version,
    about = "Brine minion: grains, masterless show and apply"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Every flag below is defined once here and accepted before or after
    /// the subcommand (`minion --config F grains` or `minion grains --config F`).
    #[command(flatten)]
    pub local: LocalOpts,
    /// Output format: `nested` (default), `json` or `yaml` for grains and
    /// show; `highstate` (default), `json` or `yaml` for apply.
    #[arg(long, value_enum, global = true)]
    pub out: Option<Out>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print this host's grains.
    Grains(grains_cmd::GrainsArgs),
    /// Show what the state tree compiles to for this minion (no changes made).
    Show(show::ShowArgs),
    /// Apply the state tree to this host (`--test`: dry run).
    Apply(apply::ApplyArgs),
    /// Run the minion daemon: connect to the master and run its jobs.
    Serve(serve::ServeArgs),
    /// Run many minions in this one process against a master (scale tests).
    Swarm(swarm::SwarmArgs),
}

/// Runs a parsed command line; returns the process exit status.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let Cli {
        command,
        local,
        out,
    } = cli;
    match command {
        Command::Grains(a) => grains_cmd::run(a, &local, output::data_format("grains", out)?),
        Command::Show(a) => show::run(a, &local, output::data_format("show", out)?),
        Command::Apply(a) => apply::run(a, &local, apply::ApplyOut::of(out)?),
        Command::Serve(a) => {
            output::none("serve", out)?;
            serve::run(a, &local)
        }
        Command::Swarm(a) => {
            output::none("swarm", out)?;
            swarm::run(a, &local)
        }
    }
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
