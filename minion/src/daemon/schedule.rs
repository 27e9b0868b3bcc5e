//! The minion's `schedule` option, in Salt's format (`salt/utils/schedule.py`):
//! each entry runs `function` every `seconds`/`minutes`/`hours`/`days`
//! (summed, as Salt does) or at the times of a `cron` expression (Salt's
//! croniter: five fields or an `@hourly`-style alias, in the minion's local
//! time), `splay` adds up to that many seconds to each run, `run_on_start`
//! runs it at once, `enabled: False` keeps it off.
//!
//! A run is a job the minion asks the master for (`MinionMsg::StartJob`):
//! the master compiles it as for a publish, records it in the job cache as
//! scheduled (with the entry's name and interval, which `master drift`
//! judges staleness by) and sends it back as a job. The master refuses a
//! run of an entry whose previous run has not finished, so runs of one
//! entry never overlap.
//!
//! Brine runs `state.apply`, `state.highstate` and `state.sls` (with
//! `test`, `saltenv`, `pillarenv`, `pillar` keyword arguments); any other
//! function, and every key Brine does not implement (`when`, `range`,
//! `once`, ...), is a config error naming it. `returner` is
//! ignored with a log line: returns go to the master's job cache.
use std::time::Duration;

use common::data::{Map, Value};
use rand::Rng;
use tokio::time::Instant;
use transport::wire::{EnvName, MinionJob, PublishEnv, ScheduleRun};

/// One entry of `schedule`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleEntry {
    pub name: String,
    /// The time between runs: the summed units, or for `cron` the gap
    /// between its next two times when the config was read (what `master
    /// drift` judges staleness by).
    pub interval: Duration,
    /// `cron`: runs at the expression's times instead of every `interval`.
    pub cron: Option<croner::Cron>,
    pub splay: Duration,
    pub run_on_start: bool,
    /// What each run asks the master for.
    pub job: MinionJob,
}

/// Keys of an entry Brine accepts without using them (`name` repeats the
/// entry's key; `jid_include` is Salt's default behaviour here).
const ACCEPTED_UNUSED: &[&str] = &["name", "jid_include"];

/// Reads the `schedule` option (absent or null: no entries).
pub fn parse(raw: Option<&Value>) -> Result<Vec<ScheduleEntry>, String> {
    let map = match raw {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("config key 'schedule' must be a map of entries".into()),
    };
    let mut out = Vec::new();
    for (name, entry) in map {
        let e = |msg: String| format!("schedule entry '{name}': {msg}");
        let Value::Object(entry) = entry else {
            return Err(e("must be a map".into()));
        };
        if let Some(entry) = parse_entry(name, entry).map_err(e)? {
            out.push(entry);
        }
    }
    Ok(out)
}

fn parse_entry(name: &str, m: &Map<String, Value>) -> Result<Option<ScheduleEntry>, String> {
    let mut secs = 0f64;
    let mut timed = false;
    let mut splay = 0f64;
    let mut run_on_start = false;
    let mut enabled = true;
    let mut cron = None;
    for (key, v) in m {
        let number = || {
            // YAML's `.inf` and `.nan` are floats, and no interval.
            v.as_f64()
                .filter(|n| *n >= 0.0 && n.is_finite())
                .ok_or_else(|| format!("'{key}' must be a finite number, not {v}"))
        };
        let flag = || {
            v.as_bool()
                .ok_or_else(|| format!("'{key}' must be True or False, not {v}"))
        };
        match key.as_str() {
            "function" | "args" | "kwargs" => {}
            "seconds" | "minutes" | "hours" | "days" => {
                let unit = match key.as_str() {
                    "seconds" => 1.0,
                    "minutes" => 60.0,
                    "hours" => 3600.0,
                    _ => 86400.0,
                };
                secs += number()? * unit;
                timed = true;
            }
            "splay" => splay = number()?,
            "run_on_start" => run_on_start = flag()?,
            "enabled" => enabled = flag()?,
            "maxrunning" if v.as_u64() == Some(1) => {}
            "maxrunning" => {
                return Err(
                    "only 'maxrunning: 1' is supported (runs of an entry never overlap)".into(),
                )
            }
            "returner" => {
                tracing::info!(schedule = %name, "schedule 'returner' ignored: returns go to the master's job cache");
            }
            k if ACCEPTED_UNUSED.contains(&k) => {}
            "cron" => cron = Some(parse_cron(v)?),
            other => return Err(format!("key '{other}' is not supported by Brine")),
        }
    }
    if let Some(c) = &cron {
        if timed {
            // Salt's own refusal, word for word.
            return Err(
                "Unable to use \"seconds\", \"minutes\", \"hours\", or \"days\" with \"when\" or \"cron\" options."
                    .into(),
            );
        }
        secs = cron_gap(c)?.as_secs_f64();
    } else if !timed {
        return Err("needs one of seconds, minutes, hours, days or cron".into());
    }
    if secs < 1.0 {
        return Err("runs at most once a second: the interval must be at least 1 second".into());
    }
    let job = job_of(m)?;
    if !enabled {
        tracing::info!(schedule = %name, "schedule entry disabled");
        return Ok(None);
    }
    Ok(Some(ScheduleEntry {
        name: name.to_string(),
        interval: Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("the interval of {secs} seconds is too large"))?,
        cron,
        splay: Duration::try_from_secs_f64(splay)
            .map_err(|_| format!("the splay of {splay} seconds is too large"))?,
        run_on_start,
        job: MinionJob {
            schedule: Some(ScheduleRun {
                name: name.to_string(),
                interval_secs: secs.round() as u64,
            }),
            ..job
        },
    }))
}

/// A `cron` value as croniter reads it: five fields (minute hour
/// day-of-month month day-of-week; day-of-month and day-of-week OR'd, as
/// in Vixie cron) or an alias such as `@hourly`. A sixth field means
/// seconds to croniter and something else to other cron dialects, so it is
/// refused rather than guessed.
fn parse_cron(v: &Value) -> Result<croner::Cron, String> {
    let text = v
        .as_str()
        .ok_or_else(|| format!("'cron' must be a string, not {v}"))?;
    let fields = text.split_whitespace().count();
    if !(fields == 5 || fields == 1 && text.trim_start().starts_with('@')) {
        return Err(format!(
            "'cron' must have five fields (minute hour day month weekday) or be an @alias, not {fields}"
        ));
    }
    text.parse::<croner::Cron>()
        .map_err(|e| format!("'cron' {text:?} is not a cron expression: {e}"))
}

/// The gap between the expression's next two times from now.
fn cron_gap(c: &croner::Cron) -> Result<Duration, String> {
    let now = chrono::Local::now();
    let never = |e: croner::errors::CronError| format!("'cron' never matches: {e}");
    let first = c.find_next_occurrence(&now, false).map_err(never)?;
    let second = c.find_next_occurrence(&first, false).map_err(never)?;
    Ok((second - first).to_std().unwrap_or(Duration::ZERO))
}

/// When an entry runs next after `now`: one interval on, or the cron
/// expression's next time (local time, as croniter computes it), plus splay.
fn next_run(e: &ScheduleEntry, now: Instant) -> Instant {
    let wait = match &e.cron {
        None => e.interval,
        Some(c) => {
            let wall = chrono::Local::now();
            match c.find_next_occurrence(&wall, false) {
                Ok(at) => (at - wall).to_std().unwrap_or(Duration::ZERO),
                // Checked when the config was read; a pattern that stops
                // matching (past year 5000) waits a day and asks again.
                Err(_) => Duration::from_secs(86400),
            }
        }
    };
    now + wait + splay(e)
}

/// The state run an entry's `function`, `args` and `kwargs` ask for.
fn job_of(m: &Map<String, Value>) -> Result<MinionJob, String> {
    let function = m
        .get("function")
        .and_then(Value::as_str)
        .ok_or("needs 'function'")?;
    let args = match m.get("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => return Err(format!("'args' must be a list, not {other}")),
    };
    let kwargs = match m.get("kwargs") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(k)) => k.clone(),
        Some(other) => return Err(format!("'kwargs' must be a map, not {other}")),
    };
    let mut sls = Vec::new();
    for a in &args {
        // Salt's state.sls/apply take `mods` as a list or a comma-separated string.
        match a {
            Value::String(s) => sls.extend(s.split(',').map(|s| s.trim().to_string())),
            Value::Array(list) => {
                for s in list {
                    sls.push(
                        s.as_str()
                            .ok_or("an SLS name must be a string")?
                            .to_string(),
                    );
                }
            }
            other => return Err(format!("an SLS name must be a string, not {other}")),
        }
    }
    match function {
        "state.apply" => {}
        "state.sls" if !sls.is_empty() => {}
        "state.sls" => return Err("state.sls needs SLS names in 'args'".into()),
        "state.highstate" if sls.is_empty() => {}
        "state.highstate" => return Err("state.highstate takes no SLS names".into()),
        other => {
            return Err(format!(
                "function '{other}' cannot be scheduled by Brine (state.apply, state.sls and state.highstate can)"
            ))
        }
    }
    let mut env = PublishEnv::default();
    let mut test = false;
    for (k, v) in &kwargs {
        let name = |v: &Value| -> Result<Option<EnvName>, String> {
            let s = v
                .as_str()
                .ok_or_else(|| format!("'{k}' must be a string"))?;
            EnvName::try_from(s.to_string())
                .map(Some)
                .map_err(|e| e.to_string())
        };
        match k.as_str() {
            "test" => test = common::data::is_true(v),
            "saltenv" => env.saltenv = name(v)?,
            "pillarenv" => env.pillarenv = name(v)?,
            "pillar" => match v {
                Value::Object(p) => env.pillar = Some(p.clone()),
                _ => return Err("'pillar' must be a map".into()),
            },
            other => {
                return Err(format!(
                    "keyword argument '{other}' of {function} is not supported by Brine"
                ))
            }
        }
    }
    Ok(MinionJob {
        sls,
        test,
        env,
        schedule: None,
    })
}

/// When each entry runs next; lives for the daemon, across reconnects.
pub struct Scheduler {
    entries: Vec<(ScheduleEntry, Instant)>,
}

impl Scheduler {
    pub fn new(entries: Vec<ScheduleEntry>) -> Scheduler {
        let now = Instant::now();
        let entries = entries
            .into_iter()
            .map(|e| {
                let first = if e.run_on_start {
                    now
                } else {
                    next_run(&e, now)
                };
                (e, first)
            })
            .collect();
        Scheduler { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The next time an entry is due (far off when there is none).
    pub fn next_due(&self) -> Instant {
        self.entries
            .iter()
            .map(|(_, at)| *at)
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86400))
    }

    /// The entries due at `now`, each rescheduled one interval (or to its
    /// next cron time), plus splay, on from now: a run missed while the
    /// master was away is not made up.
    pub fn take_due(&mut self, now: Instant) -> Vec<ScheduleEntry> {
        let mut due = Vec::new();
        for (e, at) in &mut self.entries {
            if *at <= now {
                *at = next_run(e, now);
                due.push(e.clone());
            }
        }
        due
    }
}

fn splay(e: &ScheduleEntry) -> Duration {
    if e.splay.is_zero() {
        return Duration::ZERO;
    }
    e.splay.mul_f64(rand::rng().random_range(0.0..1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_yaml(text: &str) -> Result<Vec<ScheduleEntry>, String> {
        let v = common::yaml::load(text).unwrap();
        parse(Some(&v))
    }

    #[test]
    fn salt_entries_become_state_runs_with_their_interval() {
        let entries = parse_yaml(
            "drift:\n  function: state.apply\n  minutes: 1\n  seconds: 30\n  splay: 5\n  run_on_start: True\n  returner: mysql\n  kwargs:\n    test: True\n    saltenv: prod\n\
             web:\n  function: state.sls\n  args: ['web,db']\n  hours: 1\n\
             off:\n  function: state.highstate\n  seconds: 5\n  enabled: False\n",
        )
        .unwrap();
        assert_eq!(entries.len(), 2);
        let d = &entries[0];
        assert_eq!(d.name, "drift");
        assert_eq!(d.interval, Duration::from_secs(90));
        assert_eq!(d.splay, Duration::from_secs(5));
        assert!(d.run_on_start);
        assert!(d.job.test);
        assert_eq!(d.job.env.saltenv.as_ref().unwrap().as_str(), "prod");
        assert_eq!(
            d.job.schedule,
            Some(ScheduleRun {
                name: "drift".into(),
                interval_secs: 90
            })
        );
        assert_eq!(entries[1].job.sls, vec!["web", "db"]);
        assert!(!entries[1].job.test);
    }

    #[test]
    fn what_brine_does_not_implement_is_an_error_naming_it() {
        for (text, says) in [
            (
                "a:\n  function: state.apply\n  when: 5:00pm\n",
                "key 'when'",
            ),
            (
                "a:\n  function: state.apply\n  cron: '*/5 * * * *'\n  minutes: 5\n",
                "with \"when\" or \"cron\" options",
            ),
            (
                "a:\n  function: state.apply\n  cron: '0 */5 * * * *'\n",
                "five fields",
            ),
            (
                "a:\n  function: state.apply\n  cron: '61 * * * *'\n",
                "not a cron expression",
            ),
            (
                "a:\n  function: cmd.run\n  seconds: 5\n",
                "function 'cmd.run'",
            ),
            ("a:\n  function: state.apply\n", "needs one of seconds"),
            (
                "a:\n  function: state.apply\n  cron: 5\n",
                "must be a string",
            ),
            ("a:\n  seconds: 5\n", "needs 'function'"),
            (
                "a:\n  function: state.apply\n  seconds: 5\n  kwargs: {queue: True}\n",
                "'queue'",
            ),
            (
                "a:\n  function: state.apply\n  seconds: 5\n  maxrunning: 2\n",
                "maxrunning",
            ),
            // YAML's `.inf` is a float: an interval no Duration holds.
            (
                "a:\n  function: state.apply\n  seconds: .inf\n",
                "'seconds' must be a finite number, not Infinity",
            ),
            (
                "a:\n  function: state.apply\n  seconds: 5\n  splay: .nan\n",
                "'splay' must be a finite number",
            ),
            (
                "a:\n  function: state.apply\n  days: 1.0e+300\n",
                "too large",
            ),
        ] {
            let e = parse_yaml(text).unwrap_err();
            assert!(
                e.contains("schedule entry 'a'") && e.contains(says),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn a_cron_entry_runs_at_its_times_and_reports_their_gap() {
        let entries = parse_yaml(
            "every5:\n  function: state.apply\n  cron: '*/5 * * * *'\n  kwargs: {test: True}\n\
             hourly:\n  function: state.apply\n  cron: '@hourly'\n",
        )
        .unwrap();
        let five = &entries[0];
        assert_eq!(five.interval, Duration::from_secs(300));
        assert_eq!(five.job.schedule.as_ref().unwrap().interval_secs, 300);
        assert_eq!(entries[1].interval, Duration::from_secs(3600));
        // The next run is the next multiple of five minutes on the wall clock.
        let now = Instant::now();
        let wall = chrono::Local::now();
        let wait = next_run(five, now) - now;
        assert!(wait <= Duration::from_secs(300), "{wait:?}");
        let at = wall + chrono::Duration::from_std(wait).unwrap();
        use chrono::Timelike;
        let rounded = at + chrono::Duration::milliseconds(500);
        assert_eq!(rounded.minute() % 5, 0, "{at}");
        assert_eq!(rounded.second(), 0, "{at}");
    }

    #[test]
    fn due_entries_are_rescheduled_one_interval_on() {
        let entries = parse_yaml(
            "now:\n  function: state.apply\n  seconds: 10\n  run_on_start: True\n\
             later:\n  function: state.apply\n  seconds: 60\n",
        )
        .unwrap();
        let mut s = Scheduler::new(entries);
        let start = Instant::now();
        let due = s.take_due(start);
        assert_eq!(
            due.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["now"]
        );
        assert!(s.take_due(start).is_empty());
        assert!(s.next_due() >= start + Duration::from_secs(10));
        let due = s.take_due(start + Duration::from_secs(61));
        assert_eq!(due.len(), 2);
    }
}
