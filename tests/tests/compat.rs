//! Differential tests: Brine's `minion show --local` against real Salt 3007.8.
//!
//! One test per tree in `tests/compat/trees` and command, named
//! `compat::<tree>::<command>` (e.g. `compat::012-names::lowstate`), so a run
//! can be narrowed with the usual filters. Each test runs the real minion
//! binary on the tree and compares its JSON with what
//! `scripts/record-salt-fixtures.sh` recorded from `salt-call --local`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Mutex;

use libtest_mimic::{Arguments, Failed, Trial};
use tests::compat::{load_trees, trees_dir};

/// Outcome per tree of the tests that ran: (matched, ran).
static TALLY: Mutex<BTreeMap<String, (u32, u32)>> = Mutex::new(BTreeMap::new());

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trees = match load_trees(&trees_dir()) {
        Ok(trees) => trees,
        Err(e) => {
            eprintln!("cannot load the compat trees: {e}");
            return ExitCode::FAILURE;
        }
    };

    let mut trials = Vec::new();
    for tree in trees {
        for show in tree.shows() {
            let tree = tree.clone();
            let name = format!("compat::{}::{}", tree.name, show.name());
            trials.push(Trial::test(name, move || {
                let outcome = tree.check(show);
                let mut tally = TALLY.lock().unwrap_or_else(|p| p.into_inner());
                let entry = tally.entry(tree.name.clone()).or_default();
                entry.1 += 1;
                if outcome.is_ok() {
                    entry.0 += 1;
                }
                outcome.map_err(Failed::from)
            }));
        }
    }

    let conclusion = libtest_mimic::run(&args, trials);

    // Worth printing only for a real run of several tests (not --list, and not
    // nextest's one-test-per-process runs).
    let tally = TALLY.lock().unwrap_or_else(|p| p.into_inner());
    let (matched, ran) = tally
        .values()
        .fold((0, 0), |acc, t| (acc.0 + t.0, acc.1 + t.1));
    if ran > 1 {
        let trees_ok = tally.values().filter(|t| t.0 == t.1).count();
        println!(
            "compat summary: {matched} of {ran} commands matched Salt; {trees_ok} of {} trees matched on every command",
            tally.len()
        );
    }
    conclusion.exit_code()
}
