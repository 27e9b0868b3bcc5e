//! States: `compile` turns a state tree into low chunks for one minion; the
//! executor and state modules (which change the host) come with the engine.
//!
//! clippy.toml disallows the calls that change the host; they are enforced
//! under `state/` (where only `HostWrite` makes them) and allowed below for
//! what is not a state module, and in tests, which build their fixtures.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod ci_report;
pub mod compile;
pub mod exec;
pub mod highstate_out;
// The http(s) download cache is the minion's own data, not the managed host.
#[allow(clippy::disallowed_methods)]
pub mod remote;
// The executor runs `onlyif`/`unless` commands itself (run/conditions.rs).
#[allow(clippy::disallowed_methods)]
pub mod run;
pub mod state;
