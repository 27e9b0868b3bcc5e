//! Process tuning shared by the `master` and `minion` binaries, which are
//! siblings: neither links the other, so what both need lives here.
//!
//! - [`alloc`]: mimalloc's options, set from a load-time constructor.
//! - [`code_pages`]: an idle daemon drops the code pages it touched only at start-up.
pub mod alloc;
pub mod code_pages;
