//! States: `compile` turns a state tree into low chunks for one minion; the
//! executor and state modules (which change the host) come with the engine.
pub mod compile;
pub mod exec;
pub mod highstate_out;
pub mod run;
pub mod state;
