//! The masters a minion talks to. `master` is one address or a list, as in
//! Salt (`host` or `host:port`). With `master_type: str` (Salt's default)
//! the daemon keeps a session with every master in the list, each its own
//! task ([`keep_session`]); with `master_type: failover` it keeps one, to
//! the first master that answers, and moves to the next one when that
//! master is gone ([`failover`]).
//!
//! Each master keeps its own Noise key: `master_fingerprint` may list them,
//! else each master's key is trusted on first use in a file of its own.
//!
//! A job is run once whichever master sends it (the outbox's job log is
//! shared by every session), and its result goes back to the master that
//! sent it, or, when that session is gone, to any other one ([`Uplinks`]).
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::data::Value;
use rand::seq::SliceRandom;
use rand::Rng;
use transport::wire::{Jid, JobReturn, MinionMsg};

use super::outbox::Outbox;
use super::uplink::Uplink;
use super::{Daemon, Ended, BUSY_WAIT};

/// One entry of `master`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterAddr {
    pub host: String,
    pub port: u16,
}

impl MasterAddr {
    /// `host`, `host:port`, `[v6]` or `[v6]:port`; a bare IPv6 address
    /// (more than one colon) is a host.
    pub fn parse(text: &str, default_port: u16) -> Result<MasterAddr, String> {
        let text = text.trim();
        let port = |p: &str| {
            p.parse::<u16>()
                .map_err(|_| format!("master address {text:?}: {p:?} is not a port"))
        };
        if text.is_empty() {
            return Err("an empty master address".into());
        }
        if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("master address {text:?}: no closing ']'"))?;
            let port =
                match after {
                    "" => default_port,
                    p => port(p.strip_prefix(':').ok_or_else(|| {
                        format!("master address {text:?}: ':' expected after ']'")
                    })?)?,
                };
            return Ok(MasterAddr {
                host: format!("[{host}]"),
                port,
            });
        }
        match text.split_once(':') {
            Some((host, p)) if !p.contains(':') => Ok(MasterAddr {
                host: host.to_string(),
                port: port(p)?,
            }),
            _ => Ok(MasterAddr {
                host: text.to_string(),
                port: default_port,
            }),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("tcp://{self}")
    }

    /// Where this master's key is remembered on first use when the minion
    /// has several masters (one master keeps `master.pub`, as before).
    pub fn trusted_key_file(&self) -> String {
        let host = transport::keys::address_file_part(&self.host);
        format!("master-{host}_{}.pub", self.port)
    }
}

impl fmt::Display for MasterAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// `master`: one address or a list of them (Salt's default is `salt`).
pub fn parse_masters(value: Option<&Value>, default_port: u16) -> Result<Vec<MasterAddr>, String> {
    let entries: Vec<&str> = match value {
        None | Some(Value::Null) => vec!["salt"],
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| format!("config key 'master': {v} is not an address"))
            })
            .collect::<Result<_, _>>()?,
        Some(Value::Array(_)) => return Err("config key 'master' is an empty list".into()),
        Some(other) => {
            return Err(format!(
                "config key 'master' must be an address or a list of addresses, not {other}"
            ))
        }
    };
    entries
        .into_iter()
        .map(|e| {
            MasterAddr::parse(e, default_port).map_err(|m| format!("config key 'master': {m}"))
        })
        .collect()
}

/// `master_fingerprint`: none (trust on first use), one, or a list.
pub fn parse_fingerprints(value: Option<&Value>) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    format!("config key 'master_fingerprint': {v} is not a fingerprint")
                })
            })
            .collect(),
        Some(other) => Err(format!(
            "config key 'master_fingerprint' must be a fingerprint or a list of them, not {other}"
        )),
    }
}

/// `master_type`, of Salt's values those Brine has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterType {
    /// A session with every master in the list.
    Str,
    /// One session, moving down the list when its master is gone.
    Failover,
}

impl MasterType {
    pub fn parse(value: Option<&Value>) -> Result<MasterType, String> {
        match value {
            None | Some(Value::Null) => Ok(MasterType::Str),
            Some(Value::String(s)) if s == "str" => Ok(MasterType::Str),
            Some(Value::String(s)) if s == "failover" => Ok(MasterType::Failover),
            Some(Value::String(s)) if ["func", "disable", "distributed"].contains(&s.as_str()) => {
                Err(format!(
                    "config key 'master_type': '{s}' is Salt's but not supported by Brine \
                     (use 'str', the default, or 'failover')"
                ))
            }
            Some(other) => Err(format!(
                "config key 'master_type': invalid value {other} (use 'str' or 'failover')"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MasterType::Str => "str",
            MasterType::Failover => "failover",
        }
    }
}

/// Salt's `random_master`: the list is shuffled once at start; with
/// `failover` and `master_failback` the first master stays first (it is the
/// one to fail back to).
pub fn shuffle(masters: &mut [MasterAddr], keep_first: bool) {
    let from = usize::from(keep_first).min(masters.len());
    masters[from..].shuffle(&mut rand::rng());
}

/// Every master's side of the daemon, and which master sent each job whose
/// result it has not acked yet.
pub struct Uplinks {
    slots: Vec<Arc<Uplink>>,
    names: Vec<String>,
    origins: Mutex<HashMap<Jid, usize>>,
}

impl Uplinks {
    pub fn new(masters: &[MasterAddr]) -> Uplinks {
        Uplinks {
            slots: masters
                .iter()
                .map(|_| Arc::new(Uplink::default()))
                .collect(),
            names: masters.iter().map(MasterAddr::to_string).collect(),
            origins: Mutex::new(HashMap::new()),
        }
    }

    pub fn slot(&self, slot: usize) -> &Arc<Uplink> {
        &self.slots[slot]
    }

    pub fn any_connected(&self) -> bool {
        self.slots.iter().any(|u| u.is_connected())
    }

    /// The master at `slot` sent job `jid`.
    pub fn sent_by(&self, jid: &Jid, slot: usize) {
        self.lock().insert(jid.clone(), slot);
    }

    /// A master has the result of `jid`.
    pub fn acked(&self, jid: &Jid) {
        self.lock().remove(jid);
    }

    /// The slots to try for a result of `jid`: its master first.
    fn route(&self, jid: &Jid) -> Vec<usize> {
        let origin = self.lock().get(jid).copied();
        let mut order: Vec<usize> = origin.into_iter().collect();
        order.extend((0..self.slots.len()).filter(|s| Some(*s) != origin));
        order
    }

    /// Sends a finished job's result to the master that sent the job, or,
    /// when that session is gone, to another connected master.
    pub fn blocking_return(&self, ret: JobReturn) -> Result<(), String> {
        let jid = ret.jid.clone();
        let origin = self.lock().get(&jid).copied();
        let msg = MinionMsg::Return(ret);
        for slot in self.route(&jid) {
            if self.slots[slot].blocking_send(&msg).is_ok() {
                if origin.is_some_and(|o| o != slot) {
                    tracing::warn!(jid = %jid, from = %self.names[origin.unwrap_or(slot)], to = %self.names[slot],
                        "the master that sent this job is gone; its result goes to another master");
                    self.sent_by(&jid, slot);
                }
                return Ok(());
            }
        }
        Err("not connected to any master".into())
    }

    /// Sends `msg` to every connected master (grains a job changed).
    pub fn blocking_broadcast(&self, msg: &MinionMsg) -> Result<(), String> {
        let sent = self
            .slots
            .iter()
            .filter(|u| u.blocking_send(msg).is_ok())
            .count();
        if sent == 0 {
            return Err("not connected to any master".into());
        }
        Ok(())
    }

    /// The session with `slot` ended: results sent to it and not acked
    /// (maybe lost with it) go to another connected master now, rather
    /// than wait for a reconnect.
    pub async fn reroute(&self, slot: usize, outbox: &Outbox) {
        let jids: Vec<Jid> = self
            .lock()
            .iter()
            .filter(|(_, s)| **s == slot)
            .map(|(j, _)| j.clone())
            .collect();
        for jid in jids {
            // Not finished yet: its result takes the usual route when it is.
            let Some(ret) = outbox.get(&jid) else {
                continue;
            };
            let msg = MinionMsg::Return(ret);
            for other in (0..self.slots.len()).filter(|s| *s != slot) {
                if self.slots[other].is_connected() && self.slots[other].send(&msg).await.is_ok() {
                    tracing::warn!(jid = %jid, from = %self.names[slot], to = %self.names[other],
                        "a result the lost master did not ack goes to another master");
                    self.sent_by(&jid, other);
                    break;
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Jid, usize>> {
        self.origins.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How long to wait before the next try, from how the session ended;
/// `backoff` grows with losses in a row.
fn wait_after(
    d: &Daemon,
    slot: usize,
    ended: Ended,
    up_for: Duration,
    backoff: &mut Duration,
) -> Duration {
    let master = &d.config.masters[slot];
    match ended {
        Ended::Pending { waited } => d.config.acceptance_wait.saturating_sub(waited),
        Ended::Refused(reason) => {
            tracing::error!(id = %d.config.id, master = %master, reason = %reason, "the master refused this minion");
            d.config.max_backoff
        }
        Ended::Busy => {
            tracing::debug!(master = %master, "the master is busy with other handshakes; retrying");
            BUSY_WAIT
        }
        Ended::Lost(reason) => {
            tracing::warn!(master = %master, reason = %reason, "lost the master; reconnecting");
            if up_for > Duration::from_secs(30) {
                *backoff = Duration::from_millis(500);
            }
            let w = *backoff;
            *backoff = (*backoff * 2).min(d.config.max_backoff);
            w
        }
    }
}

/// A session's end: its link and the requests waiting on it are closed,
/// and the results it did not ack go elsewhere.
async fn closed(d: &Daemon, slot: usize) {
    let uplink = d.uplinks.slot(slot);
    uplink.set(None);
    uplink.replies.close_all();
    d.uplinks.reroute(slot, &d.outbox).await;
}

/// Jitter spreads a fleet's reconnects after a master restart.
async fn jittered(wait: Duration) {
    let jitter = rand::rng().random_range(0.5..1.5);
    tokio::time::sleep(wait.mul_f64(jitter)).await;
}

/// `master_type: str`: the session with the master at `slot`, for good,
/// reconnecting with jittered back-off.
pub(super) async fn keep_session(d: Arc<Daemon>, slot: usize) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let started = Instant::now();
        let ended = super::session(&d, slot).await;
        closed(&d, slot).await;
        let wait = wait_after(&d, slot, ended, started.elapsed(), &mut backoff);
        jittered(wait).await;
    }
}

/// `master_type: failover`: one session, to the first master of the list
/// that answers; when it ends, the next master is tried (after a back-off
/// once every master was tried in a row). With `master_failback`, a session
/// with another master ends as soon as the first one answers again.
pub(super) async fn failover(d: Arc<Daemon>) {
    let n = d.config.masters.len();
    let mut at = 0;
    let mut backoff = Duration::from_millis(500);
    let mut failed_in_a_row = 0;
    loop {
        let started = Instant::now();
        let failing_back = d.config.master_failback && at != 0;
        let ended = tokio::select! {
            e = super::session(&d, at) => Some(e),
            _ = first_master_answers(&d), if failing_back => None,
        };
        closed(&d, at).await;
        let Some(ended) = ended else {
            tracing::info!(master = %d.config.masters[0], "the first master answers again; failing back to it");
            at = 0;
            failed_in_a_row = 0;
            continue;
        };
        if matches!(ended, Ended::Busy) {
            jittered(BUSY_WAIT).await;
            continue;
        }
        let up_for = started.elapsed();
        // Up for a while: the next master is tried at once.
        if up_for > d.config.dead_after() {
            failed_in_a_row = 0;
            backoff = Duration::from_millis(500);
        }
        // Logs why; its own wait counts once every master was tried.
        let said = wait_after(&d, at, ended, up_for, &mut backoff.clone());
        failed_in_a_row += 1;
        let wait = if failed_in_a_row % n != 0 {
            Duration::from_millis(250)
        } else {
            let w = said.max(backoff);
            backoff = (backoff * 2).min(d.config.max_backoff);
            w
        };
        at = (at + 1) % n;
        tracing::info!(master = %d.config.masters[at], "failover: trying the next master");
        jittered(wait).await;
    }
}

/// Completes once the first master of the list accepts a TCP connection,
/// looked at every `master_failback_interval`.
async fn first_master_answers(d: &Daemon) {
    let every = d.config.failback_every();
    let first = &d.config.masters[0];
    let addr = format!(
        "{}:{}",
        first.host.trim_start_matches('[').trim_end_matches(']'),
        first.port
    );
    loop {
        tokio::time::sleep(every).await;
        let tried = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(&addr),
        )
        .await;
        if matches!(tried, Ok(Ok(_))) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(v: serde_json::Value) -> Result<Vec<String>, String> {
        parse_masters(Some(&v), 4506).map(|l| l.iter().map(MasterAddr::to_string).collect())
    }

    #[test]
    fn master_is_an_address_or_a_list_with_ports() {
        assert_eq!(addrs(serde_json::json!("m1")).unwrap(), ["m1:4506"]);
        assert_eq!(
            addrs(serde_json::json!(["m1", "m2:4600", "[::1]:7", "::1"])).unwrap(),
            ["m1:4506", "m2:4600", "[::1]:7", "::1:4506"]
        );
        assert_eq!(
            parse_masters(None, 4506).unwrap(),
            [MasterAddr {
                host: "salt".into(),
                port: 4506
            }]
        );
        assert!(addrs(serde_json::json!([]))
            .unwrap_err()
            .contains("empty list"));
        assert!(addrs(serde_json::json!(["m1:http"]))
            .unwrap_err()
            .contains("not a port"));
        assert!(addrs(serde_json::json!([1]))
            .unwrap_err()
            .contains("not an address"));
        assert!(addrs(serde_json::json!({"a": 1})).is_err());
    }

    #[test]
    fn master_type_is_str_or_failover_and_salts_others_are_refused() {
        let t = |v: serde_json::Value| MasterType::parse(Some(&v));
        assert_eq!(MasterType::parse(None), Ok(MasterType::Str));
        assert_eq!(t(serde_json::json!("failover")), Ok(MasterType::Failover));
        for other in ["func", "disable"] {
            let e = t(serde_json::json!(other)).unwrap_err();
            assert!(
                e.contains("not supported by Brine") && e.contains(other),
                "{e}"
            );
        }
        assert!(t(serde_json::json!("bogus"))
            .unwrap_err()
            .contains("invalid value"));
    }

    #[test]
    fn fingerprints_are_one_or_a_list() {
        assert!(parse_fingerprints(None).unwrap().is_empty());
        assert_eq!(
            parse_fingerprints(Some(&serde_json::json!("ab"))).unwrap(),
            ["ab"]
        );
        assert_eq!(
            parse_fingerprints(Some(&serde_json::json!(["ab", "cd"]))).unwrap(),
            ["ab", "cd"]
        );
        assert!(parse_fingerprints(Some(&serde_json::json!(3))).is_err());
    }

    #[test]
    fn random_master_keeps_the_failback_master_first() {
        let list: Vec<MasterAddr> = (0..20)
            .map(|i| MasterAddr {
                host: format!("m{i}"),
                port: 1,
            })
            .collect();
        let mut kept = list.clone();
        shuffle(&mut kept, true);
        assert_eq!(kept[0], list[0]);
        let mut sorted = kept.clone();
        sorted.sort_by_key(|m| m.host[1..].parse::<u32>().unwrap());
        assert_eq!(sorted, list);
        // Twenty entries: the odds of an unchanged shuffle are nil.
        let mut all = list.clone();
        shuffle(&mut all, false);
        assert_ne!(all, list);
    }

    #[test]
    fn a_key_file_name_per_master_stays_inside_the_pki_dir() {
        let a = MasterAddr::parse("../x/m1:4506", 1).unwrap();
        assert_eq!(a.trusted_key_file(), "master-.._x_m1_4506.pub");
        assert!(!a.trusted_key_file().contains('/'));
    }
}
