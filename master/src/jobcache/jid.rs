//! Job ids in Salt's format, `YYYYMMDDhhmmssffffff` (UTC, microseconds), and
//! the civil-date arithmetic behind them (Howard Hinnant's `days_from_civil`
//! and `civil_from_days`), which is all the calendar this needs: no date crate.
//! What a valid jid is lives in [`Jid`]; this is how the master makes them.
use std::time::{SystemTime, UNIX_EPOCH};

use transport::wire::Jid;

/// Now, in milliseconds since the Unix epoch (the cache's and the daemon's
/// timestamps).
pub fn now_ms() -> i64 {
    now_micros() / 1000
}

pub(crate) fn now_micros() -> i64 {
    // A clock before 1970 is a broken host; the jid generator still counts up.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Microseconds since the epoch → jid.
pub(crate) fn format_jid(micros: i64) -> Jid {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rem = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    let text = format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}{:06}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rem % 1_000_000
    );
    // Every instant from 1970 (the clock's floor) to the year 9999 is 20
    // digits; a jid counted past that is a clock no job cache outlives.
    Jid::parse(&text).expect("a jid before the year 10000")
}

/// `datetime.isoformat()` of a UTC instant in microseconds (Salt's event
/// `_stamp`): the fraction only when there is one.
pub(crate) fn iso_stamp(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    );
    if frac == 0 {
        base
    } else {
        format!("{base}.{frac:06}")
    }
}

/// Python's `time.asctime()` of a UTC instant in microseconds
/// (`Sun Dec  6 13:30:45 2026`), as Salt's minion start event says it.
pub(crate) fn asctime(micros: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {d:2} {:02}:{:02}:{:02} {y}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[m as usize - 1],
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// Jid → microseconds since the epoch, if it is a valid date and time.
pub(crate) fn parse_jid(jid: &str) -> Option<i64> {
    Jid::parse(jid).ok()?;
    let n = |a: usize, b: usize| jid[a..b].parse::<i64>().ok();
    let (y, m, d) = (n(0, 4)?, n(4, 6)?, n(6, 8)?);
    let (hh, mm, ss, us) = (n(8, 10)?, n(10, 12)?, n(12, 14)?, n(14, 20)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let days = days_from_civil(y, m as u32, d as u32);
    Some(days * MICROS_PER_DAY + ((hh * 60 + mm) * 60 + ss) * 1_000_000 + us)
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_microseconds() {
        assert_eq!(format_jid(0).as_str(), "19700101000000000000");
        // 2026-11-24 10:10:10.123456 UTC
        let t = 1_795_515_010_123_456;
        assert_eq!(format_jid(t).as_str(), "20261124101010123456");
        assert_eq!(parse_jid("20261124101010123456"), Some(t));
        // Leap day, end of a century year.
        let leap = parse_jid("20000229235959999999").unwrap();
        assert_eq!(format_jid(leap).as_str(), "20000229235959999999");
        assert_eq!(format_jid(leap + 1).as_str(), "20000301000000000000");
        assert_eq!(parse_jid("20001301000000000000"), None);
    }

    #[test]
    fn event_stamps_read_as_pythons() {
        // datetime.isoformat() and time.asctime() of 2026-11-24 10:10:10.123456.
        let t = 1_795_515_010_123_456;
        assert_eq!(iso_stamp(t), "2026-11-24T10:10:10.123456");
        assert_eq!(iso_stamp(t - 123_456), "2026-11-24T10:10:10");
        assert_eq!(asctime(t), "Tue Nov 24 10:10:10 2026");
        assert_eq!(asctime(1_796_515_010_000_000), "Sat Dec  5 23:56:50 2026");
    }

    #[test]
    fn only_a_jid_parses_as_a_time() {
        assert_eq!(parse_jid("../../../../etc/passwd"), None);
        assert_eq!(parse_jid("2026112410101012345x"), None);
    }
}
