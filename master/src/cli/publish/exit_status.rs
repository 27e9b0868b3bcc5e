//! The exit status of `master apply` and `master run`: 0 all good, 2 a state
//! or function failed, 1 could not run, 3 a targeted minion did not return.
//! When the master is lost mid-job the status is 1 (decided by the caller,
//! which also says so on stderr).
use std::collections::BTreeMap;

use transport::wire::JobReturn;

pub fn of_job(returns: &BTreeMap<String, JobReturn>, missing: &[String]) -> i32 {
    if !missing.is_empty() {
        3
    } else if returns.values().any(|r| r.retcode == 1) {
        // A minion's tree did not compile, or a function could not run.
        1
    } else if returns.values().any(|r| !r.success) {
        2
    } else {
        0
    }
}
