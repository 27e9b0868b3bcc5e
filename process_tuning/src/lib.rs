//! Process tuning shared by the `master` and `minion` binaries, which are
//! siblings: neither links the other, so what both need lives here.
//!
//! - [`alloc`]: mimalloc's options, set from a load-time constructor.
//! - [`code_pages`]: an idle daemon drops the code pages it touched only at start-up.
//! - [`stop_signal`]: the signals that ask a daemon to stop.
pub mod alloc;
pub mod code_pages;
pub mod stop_signal;
