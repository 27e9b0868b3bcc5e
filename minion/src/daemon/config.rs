//! The daemon's settings, read from the minion's config with Salt's key
//! names.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use common::data::Value;

use super::masters::{self, MasterAddr, MasterType};
use super::schedule;

/// The minion's `cachedir` when the config names none.
pub const DEFAULT_CACHEDIR: &str = "/var/cache/brine/minion";

/// The daemon's settings, with Salt's key names where Salt has them.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub id: String,
    /// `master` (one or a list), with `master_port` where an entry names
    /// no port; shuffled once at start under `random_master`.
    pub masters: Vec<MasterAddr>,
    /// `master_fingerprint` (one or a list): when set, the only master
    /// keys accepted; else each master's key is trusted on first use.
    pub master_fingerprints: Vec<String>,
    /// `master_type`: a session with every master, or one (`failover`).
    pub master_type: MasterType,
    /// `master_alive_interval` in seconds: a master silent this long is
    /// gone (0, Salt's default: three `ping_interval`s).
    pub master_alive_interval: Duration,
    /// `random_master`: shuffle `master` once at start.
    pub random_master: bool,
    /// `master_failback` and `master_failback_interval` (seconds; 0:
    /// `master_alive_interval`), for `failover`.
    pub master_failback: bool,
    pub master_failback_interval: Duration,
    pub pki_dir: PathBuf,
    pub cachedir: PathBuf,
    /// `ping_interval` in seconds (Brine's: Salt counts minutes).
    pub ping_interval: Duration,
    /// `acceptance_wait_time`: how long to wait while the key is pending.
    pub acceptance_wait: Duration,
    /// `random_reconnect_delay` cap for back-off, seconds.
    pub max_backoff: Duration,
    /// `state_root`: where states apply (a throwaway root in tests).
    pub state_root: PathBuf,
    /// `record_received`: append every message from the master to this file,
    /// one JSON line each. A test aid: it shows what this minion was sent.
    pub record_received: Option<PathBuf>,
    /// `grains_refresh_every` in minutes (Salt's key): grains are detected
    /// again this often and sent when they changed. 0 turns it off.
    pub grains_refresh: Duration,
    /// Drop start-up code pages once connected and after each job. Off in a
    /// swarm: thousands of minions share one process's code.
    pub trim_code_pages: bool,
    /// `stop_timeout` in seconds: how long a stop waits for running jobs
    /// (see `stop`).
    pub stop_timeout: Duration,
    /// `mine_functions`: run on connecting and every `mine_interval`, their
    /// returns sent to the master's mine.
    pub mine_functions: Vec<common::config::MineFunction>,
    /// `mine_interval` in minutes (Salt's key and default, 60).
    pub mine_interval: Duration,
    /// The grains file `grains.setval`/`delval` write (Salt's
    /// `/etc/salt/grains`, beside the config); none in a swarm.
    pub grains_file: Option<PathBuf>,
    /// `schedule`: state runs this minion asks the master for, on its own
    /// timer (see `schedule`).
    pub schedule: Vec<schedule::ScheduleEntry>,
}

/// Detects this host's grains again (config grains merged, as at start).
pub type GrainsSource = Arc<dyn Fn() -> Value + Send + Sync>;

impl DaemonConfig {
    pub fn from_raw(id: String, raw: &common::data::Map<String, Value>) -> anyhow::Result<Self> {
        // A key of the wrong type is an error naming it, not its default.
        let opt_s = |k: &str| -> anyhow::Result<Option<String>> {
            match raw.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .with_context(|| format!("config key '{k}' must be a string")),
            }
        };
        let s = |k: &str, d: &str| -> anyhow::Result<String> {
            Ok(opt_s(k)?.unwrap_or_else(|| d.to_string()))
        };
        let n = |k: &str, d: u64| -> anyhow::Result<u64> {
            match raw.get(k) {
                None | Some(Value::Null) => Ok(d),
                Some(v) => v
                    .as_u64()
                    .with_context(|| format!("config key '{k}' must be a whole number")),
            }
        };
        let flag = |k: &str| -> anyhow::Result<bool> {
            match raw.get(k) {
                None | Some(Value::Null) => Ok(false),
                Some(v) => v
                    .as_bool()
                    .with_context(|| format!("config key '{k}' must be true or false")),
            }
        };
        let master_port = u16::try_from(n("master_port", 4506)?)
            .context("config key 'master_port' must be a port number")?;
        Ok(DaemonConfig {
            id,
            masters: masters::parse_masters(raw.get("master"), master_port)
                .map_err(anyhow::Error::msg)?,
            master_fingerprints: masters::parse_fingerprints(raw.get("master_fingerprint"))
                .map_err(anyhow::Error::msg)?,
            master_type: MasterType::parse(raw.get("master_type")).map_err(anyhow::Error::msg)?,
            master_alive_interval: Duration::from_secs(n("master_alive_interval", 0)?),
            random_master: flag("random_master")?,
            master_failback: flag("master_failback")?,
            master_failback_interval: Duration::from_secs(n("master_failback_interval", 0)?),
            pki_dir: PathBuf::from(s("pki_dir", "/etc/brine/pki/minion")?),
            cachedir: PathBuf::from(s("cachedir", DEFAULT_CACHEDIR)?),
            ping_interval: Duration::from_secs(n("ping_interval", 5)?.max(1)),
            acceptance_wait: Duration::from_secs(n("acceptance_wait_time", 10)?),
            max_backoff: Duration::from_secs(n("random_reconnect_delay", 30)?.max(1)),
            state_root: PathBuf::from(s("state_root", "/")?),
            grains_refresh: Duration::try_from_secs_f64(
                60.0 * match raw.get("grains_refresh_every") {
                    None | Some(Value::Null) => 5.0,
                    Some(v) => v
                        .as_f64()
                        .filter(|m| *m >= 0.0)
                        .context("config key 'grains_refresh_every' must be a number of minutes")?,
                },
            )
            // `.inf` is a float, and a Duration cannot hold it.
            .context("config key 'grains_refresh_every' is too large")?,
            record_received: opt_s("record_received")?.map(PathBuf::from),
            trim_code_pages: true,
            stop_timeout: Duration::from_secs(n("stop_timeout", 60)?),
            mine_functions: common::config::mine_functions(
                raw.get("mine_functions").unwrap_or(&Value::Null),
            )
            .map_err(|e| anyhow::anyhow!("config key 'mine_functions': {e}"))?,
            mine_interval: Duration::try_from_secs_f64(
                60.0 * match raw.get("mine_interval") {
                    None | Some(Value::Null) => {
                        common::config::DEFAULT_MINE_INTERVAL_MINUTES as f64
                    }
                    Some(v) => v.as_f64().filter(|m| *m > 0.0).context(
                        "config key 'mine_interval' must be a positive number of minutes",
                    )?,
                },
            )
            .context("config key 'mine_interval' is too large")?,
            grains_file: None,
            schedule: schedule::parse(raw.get("schedule")).map_err(|e| anyhow::anyhow!(e))?,
        })
    }

    /// How long a master may stay silent before its session is given up.
    pub fn dead_after(&self) -> Duration {
        if self.master_alive_interval.is_zero() {
            self.ping_interval * 3
        } else {
            self.master_alive_interval
        }
    }

    /// How often a failover minion looks whether its first master is back.
    pub(super) fn failback_every(&self) -> Duration {
        [self.master_failback_interval, self.master_alive_interval]
            .into_iter()
            .find(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(30))
    }

    pub(super) fn masters_text(&self) -> String {
        let list: Vec<String> = self.masters.iter().map(MasterAddr::to_string).collect();
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> anyhow::Result<DaemonConfig> {
        let raw = common::yaml::load(yaml).unwrap();
        DaemonConfig::from_raw("m1".into(), raw.as_object().unwrap())
    }

    #[test]
    fn intervals_a_duration_cannot_hold_are_refused_naming_the_key() {
        // YAML's `.inf` is a float, and so is a number past what a Duration holds.
        for (text, key) in [
            ("grains_refresh_every: .inf\n", "'grains_refresh_every'"),
            ("mine_interval: .inf\n", "'mine_interval'"),
            ("mine_interval: .nan\n", "'mine_interval'"),
            ("grains_refresh_every: 1.0e+300\n", "'grains_refresh_every'"),
        ] {
            let Err(err) = config(text) else {
                panic!("{text} was accepted");
            };
            let err = format!("{err:#}");
            assert!(err.contains(key), "{text}: {err}");
        }
        let ok = config("grains_refresh_every: 2\nmine_interval: 0.5\n").unwrap();
        assert_eq!(ok.grains_refresh, Duration::from_secs(120));
        assert_eq!(ok.mine_interval, Duration::from_secs(30));
    }
}
