//! The minion's `schedule` option, in Salt's format (`salt/utils/schedule.py`):
//! each entry runs `function` every `seconds`/`minutes`/`hours`/`days`
//! (summed, as Salt does), `splay` adds up to that many seconds to each
//! run, `run_on_start` runs it at once, `enabled: False` keeps it off.
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
//! function, and every key Brine does not implement (`cron`, `when`,
//! `range`, `once`, ...), is a config error naming it. `returner` is
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
    pub interval: Duration,
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
    for (key, v) in m {
        let number = || {
            v.as_f64()
                .filter(|n| *n >= 0.0)
                .ok_or_else(|| format!("'{key}' must be a number, not {v}"))
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
            "cron" => {
                return Err(
                    "'cron' is not supported by Brine; use seconds, minutes, hours or days".into(),
                )
            }
            other => return Err(format!("key '{other}' is not supported by Brine")),
        }
    }
    if !timed {
        return Err("needs one of seconds, minutes, hours or days".into());
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
        interval: Duration::from_secs_f64(secs),
        splay: Duration::from_secs_f64(splay),
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
                    now + e.interval + splay(&e)
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

    /// The entries due at `now`, each rescheduled one interval (and splay)
    /// on from now: a run missed while the master was away is not made up.
    pub fn take_due(&mut self, now: Instant) -> Vec<ScheduleEntry> {
        let mut due = Vec::new();
        for (e, at) in &mut self.entries {
            if *at <= now {
                *at = now + e.interval + splay(e);
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
                "a:\n  function: state.apply\n  cron: '*/5 * * * *'\n",
                "'cron'",
            ),
            (
                "a:\n  function: cmd.run\n  seconds: 5\n",
                "function 'cmd.run'",
            ),
            ("a:\n  function: state.apply\n", "needs one of seconds"),
            ("a:\n  seconds: 5\n", "needs 'function'"),
            (
                "a:\n  function: state.apply\n  seconds: 5\n  kwargs: {queue: True}\n",
                "'queue'",
            ),
            (
                "a:\n  function: state.apply\n  seconds: 5\n  maxrunning: 2\n",
                "maxrunning",
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
