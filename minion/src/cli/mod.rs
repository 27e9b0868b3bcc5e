//! The `minion` command line.
mod apply;
mod grains_cmd;
pub mod output;
mod serve;
mod show;
mod swarm;

use clap::{Parser, Subcommand};

pub use output::OutFormat;

#[derive(Debug, Parser)]
#[command(
    name = "minion",
    version,
    about = "Brine minion: grains, masterless show and apply"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
    match cli.command {
        Command::Grains(a) => grains_cmd::run(a),
        Command::Show(a) => show::run(a),
        Command::Apply(a) => apply::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Swarm(a) => swarm::run(a),
    }
}
