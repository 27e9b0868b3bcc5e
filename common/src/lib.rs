//! Brine's shared core. Everything here is pure: it reads only the files it is
//! handed and never changes the host.
//!
//! - [`data`]: the data model (ordered JSON-like values) and Salt's merge/traverse helpers.
//! - [`yaml`]: YAML read the way Salt's loader reads it, and written the way PyYAML writes it.
//! - [`pyfmt`]: Python's `str()`, `repr()` and `json.dumps` of a value, as Salt templates print them.
//! - [`render`]: the Jinja+YAML renderer with Salt's context, functions and filters.
//! - [`target`]: target expressions (glob, pcre, list, grain, pillar, subnet, compound).
//! - [`config`]: minion configuration with Salt's key names and defaults.
//! - [`env_name`]: a saltenv or pillarenv name from outside, checked as a label.
//! - [`shlex`]: Python's `shlex.split` (POSIX mode), the one word splitter.
//!
//! The network half (keys, Noise sessions, wire messages) is the `transport` crate.
//! - [`salt_url`], [`files`]: `salt://` names checked before they become paths, and
//!   files read only when they are regular files (never a FIFO or a device);
//!   [`untrusted`]: someone else's text escaped before a log or a terminal shows it.
// clippy.toml's disallowed methods (calls that change the host) hold here
// too: common never changes the host. Tests build their fixtures.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod config;
pub mod data;
pub mod digest;
pub mod env_name;
pub mod files;
pub mod pyfmt;
pub mod render;
pub mod salt_url;
pub mod saltenvs;
pub mod shlex;
pub mod sls_files;
pub mod target;
pub mod top;
pub mod tree_error;
pub mod untrusted;
pub mod yaml;
