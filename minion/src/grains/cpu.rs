//! `num_cpus`, `cpu_model`, `cpu_flags` from /proc/cpuinfo, as
//! salt.grains.core._linux_cpudata parses it (including its ARM, PPC64 and
//! s390x special cases, and its quirk of keeping only the text between the
//! first and second `:` of a line).

use serde_json::{Map, Value};

use super::util::py_lines;

pub(crate) fn insert_grains(cpuinfo: Option<&str>, grains: &mut Map<String, Value>) {
    let mut num_cpus: Option<i64> = None;
    let mut model: Option<String> = None;
    let mut flags: Option<Vec<Value>> = None;

    // Salt only sets these when the file exists; then num_cpus starts at 0.
    if let Some(text) = cpuinfo {
        num_cpus = Some(0);
        for line in py_lines(text) {
            let comps: Vec<&str> = line.split(':').collect();
            if comps.len() < 2 {
                continue;
            }
            let key = comps[0].trim();
            let val = comps[1].trim();
            match key {
                "processor" => num_cpus = Some(num_cpus.unwrap_or(0) + 1),
                // s390x: "# processors    : 2"; Python's int() raises on junk,
                // which would abort the grain; we just skip the line.
                "# processors" => {
                    if let Some(n) = super::util::py_int(val) {
                        num_cpus = Some(n);
                    }
                }
                "vendor_id" | "model name" | "cpu" => model = Some(val.to_string()),
                "flags" | "Features" => {
                    flags = Some(val.split_whitespace().map(Value::from).collect());
                }
                // Old ARM kernels: "Processor : ARMv6-compatible processor rev 7 (v6l)".
                "Processor" => {
                    model = Some(val.split('-').next().unwrap_or("").to_string());
                    num_cpus = Some(1);
                }
                _ => {}
            }
        }
    }
    grains.insert("num_cpus".into(), num_cpus.unwrap_or(0).into());
    grains.insert(
        "cpu_model".into(),
        model.unwrap_or_else(|| "Unknown".into()).into(),
    );
    grains.insert("cpu_flags".into(), Value::Array(flags.unwrap_or_default()));
}
