//! The minion: grains, the local host probe, and the masterless commands.
pub mod cli;
pub mod daemon;
pub mod grains;
pub mod local;
pub mod mine;
pub mod probe;
pub mod swarm;
