//! The Brine master's library: what the daemon and the operator CLI share.
//!
//! - [`config`]: the master config with Salt's key names and defaults, and the
//!   operator ACL.
//! - [`pki`]: the key store (`minions_pre`, `minions`, `minions_rejected`,
//!   `operators`), which decides whether a minion's key is admitted and guards
//!   every network-supplied minion id before it becomes a file name.
//! - [`jobcache`]: jobs and their returns in embedded SQLite, so a job's
//!   results (and who never answered) can be read after the master restarts.
//!
//! - [`listener`]: the ROUTER side of sessions: Noise handshake per peer,
//!   admission, sealed messages to a handler.
//! - [`daemon`]: `master serve`: minion and operator ports, registry and
//!   grains cache, per-minion compile, job dispatch.
//! - [`gitfs`]: the state tree and pillar from git, pinned to commits.
//! - [`cli`]: the operator commands (`keys`, `apply`, `run`, `jobs`, `render`).
//!
//! Like `common`, this is library code: errors are `thiserror` enums, logs go
//! through `tracing`, nothing prints.
pub mod cli;
pub mod config;
pub mod daemon;
pub mod gitfs;
pub mod jobcache;
pub mod listener;
pub mod pg_acl;
pub mod pg_cache;
pub mod pgstore;
pub mod pki;
pub mod pki_postgres;
mod refusals;
mod stores_config;
mod token_bucket;
