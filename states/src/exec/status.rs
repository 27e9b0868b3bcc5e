//! `status.uptime` and `status.loadavg`: the live kernel's numbers, in
//! Salt's shapes (salt/modules/status.py).
use std::time::{SystemTime, UNIX_EPOCH};

use common::data::Value;
use serde_json::json;

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction};
use crate::state::HostRead;

pub const UPTIME: ExecFunction = ExecFunction {
    name: "status.uptime",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "seconds up, boot time (since_iso, since_t), days, time (h:m) and users",
    parse: |_| Ok(ExecCall::StatusUptime),
};

pub const LOADAVG: ExecFunction = ExecFunction {
    name: "status.loadavg",
    params: &[],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "the 1-, 5- and 15-minute load averages",
    parse: |_| Ok(ExecCall::StatusLoadavg),
};

pub fn loadavg() -> Result<Value, ExecError> {
    let mut avg = [0f64; 3];
    // SAFETY: getloadavg writes at most 3 doubles into `avg`.
    if unsafe { libc::getloadavg(avg.as_mut_ptr(), 3) } != 3 {
        return Err(ExecError::Failed(
            "status.loadavag is not available on your platform".into(),
        ));
    }
    Ok(json!({"1-min": avg[0], "5-min": avg[1], "15-min": avg[2]}))
}

/// Salt's `status.uptime` on Linux. `users` is the line count of `who -s`
/// (1 for no one logged in, as Salt counts an empty output), present only
/// when `who` is installed.
pub fn uptime(host: &HostRead) -> Result<Value, ExecError> {
    let text = std::fs::read_to_string("/proc/uptime")
        .map_err(|_| ExecError::Failed("File /proc/uptime was not found.".into()))?;
    let seconds = text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| ExecError::Failed(format!("/proc/uptime: cannot read {text:?}")))?
        as i64;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| ExecError::Failed(e.to_string()))?
        .as_secs_f64();
    let mut out = uptime_at(now, seconds);
    if super::cmd::has_exec(host, "who")? {
        let who = host.query(&["who", "-s"])?;
        let text = format!("{}{}", who.stdout, who.stderr);
        out["users"] = Value::from(text.trim_end().split('\n').count());
    }
    Ok(out)
}

/// Python's `datetime.utcfromtimestamp` works in whole microseconds
/// (rounded half to even); the fields follow from the two instants.
fn uptime_at(now: f64, seconds: i64) -> Value {
    let micros = |t: f64| (t * 1e6).round_ties_even() as i64;
    let boot = now - seconds as f64;
    let (boot_us, now_us) = (micros(boot), micros(now));
    let up_us = now_us - boot_us;
    let day_us = 86_400 * 1_000_000;
    let (days, rest_secs) = (
        up_us.div_euclid(day_us),
        up_us.rem_euclid(day_us) / 1_000_000,
    );
    json!({
        "seconds": seconds,
        "since_iso": iso_utc(boot_us),
        "since_t": boot as i64,
        "days": days,
        "time": format!("{}:{}", rest_secs / 3600, rest_secs % 3600 / 60),
    })
}

/// `datetime.isoformat()` of a UTC instant in microseconds: the fraction
/// only when there is one.
fn iso_utc(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    );
    if frac == 0 {
        base
    } else {
        format!("{base}.{frac:06}")
    }
}

/// Days since 1970-01-01 as a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_fields_are_pythons() {
        // 2026-12-06T10:00:00.5 UTC, up 1 day 2 h 3 min 4 s.
        let now = 1_796_551_200.5;
        let up = 86_400 + 2 * 3600 + 3 * 60 + 4;
        let v = uptime_at(now, up);
        assert_eq!(v["seconds"], up);
        assert_eq!(v["since_iso"], "2026-12-05T07:56:56.500000");
        assert_eq!(v["since_t"], 1_796_551_200 - up);
        assert_eq!(v["days"], 1);
        // Salt does not pad the minutes.
        assert_eq!(v["time"], "2:3");
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00");
        assert_eq!(iso_utc(951_782_400_000_001), "2000-02-29T00:00:00.000001");
    }
}
