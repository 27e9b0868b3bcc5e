//! `master`: the Brine master. The daemon, key store, jobs and operator CLI are
//! the next piece of work; until then this binary says so instead of pretending.
fn main() {
    eprintln!(
        "master: the master daemon and operator commands are not built yet.\n\
         Compile a tree for one host with: minion show --local lowstate --file-root DIR --pillar-root DIR"
    );
    std::process::exit(1);
}
