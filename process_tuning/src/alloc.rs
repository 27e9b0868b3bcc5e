//! mimalloc tuned for small resident size, shared by both binaries.

/// Called from each binary's load-time constructor (`.init_array`), before
/// the first Rust allocation: mimalloc is only Rust's allocator here (not
/// libc's malloc), so nothing has allocated from it yet.
///
/// - Arenas are not committed up front: where the OS overcommits, a
///   short-lived CLI paid ~12 MiB of RSS for nothing.
/// - Freed pages go back at once rather than 10 ms later: a compile frees
///   its intermediate trees in bursts, and a delayed purge let peak RSS of a
///   1000-state apply grow by 2.2 MiB (22.3 -> 20.0); an idle daemon's
///   threads never allocate again to trigger the delayed purge, so the
///   memory of its last job stayed resident.
pub extern "C" fn tune_mimalloc() {
    // SAFETY: plain stores into mimalloc's option table.
    unsafe {
        libmimalloc_sys::mi_option_set(4 /* mi_option_arena_eager_commit */, 0);
        libmimalloc_sys::mi_option_set(15 /* mi_option_purge_delay */, 0);
    };
}
