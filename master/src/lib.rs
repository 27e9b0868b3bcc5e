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
//! Like `common`, this is library code: errors are `thiserror` enums, logs go
//! through `tracing`, nothing prints.
pub mod config;
pub mod jobcache;
pub mod pki;
