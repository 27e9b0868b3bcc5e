//! `mem_total` and `swap_total` in MiB from /proc/meminfo, as
//! salt.grains.core._linux_memdata computes them (kB floor-divided by 1024;
//! 0 when the file or line is missing).

use serde_json::{Map, Value};

use super::util::{py_int, py_lines};

pub(crate) fn insert_grains(meminfo: Option<&str>, grains: &mut Map<String, Value>) {
    let mut mem_total = 0i64;
    let mut swap_total = 0i64;
    for line in meminfo.map(py_lines).unwrap_or_default() {
        let comps: Vec<&str> = line.split(':').collect();
        if comps.len() < 2 {
            continue;
        }
        let kb = || {
            comps[1]
                .split_whitespace()
                .next()
                .and_then(py_int)
                .map(|v| v.div_euclid(1024))
        };
        match comps[0].trim() {
            "MemTotal" => mem_total = kb().unwrap_or(mem_total),
            "SwapTotal" => swap_total = kb().unwrap_or(swap_total),
            _ => {}
        }
    }
    grains.insert("mem_total".into(), mem_total.into());
    grains.insert("swap_total".into(), swap_total.into());
}
