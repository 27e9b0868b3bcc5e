//! Many minions in one process, for scale tests and benchmarks (Salt's
//! minionswarm, but one process and one runtime rather than a process each).
//!
//! Each minion is a full [`daemon::serve`]: its own id, key, grains, outbox
//! and session, speaking the real protocol to a real master. They share only
//! the process: its runtime, its code, and the host grains detected once.
//! States apply under each minion's own throwaway root, so thousands of
//! minions can run the same tree without touching the host.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::data::Value;

use crate::daemon::{self, DaemonConfig};

/// The swarm's shape: `count` minions named `<prefix>-<index>` with their
/// state under `dir/<id>/`.
#[derive(Debug, Clone)]
pub struct SwarmSpec {
    pub count: usize,
    pub prefix: String,
    pub dir: PathBuf,
    /// Minions start spread over this long, so a swarm's first connect is
    /// not one burst of handshakes.
    pub ramp: Duration,
}

impl SwarmSpec {
    /// Zero-padded so ids sort the way they were numbered.
    pub fn id(&self, index: usize) -> String {
        let width = self.count.saturating_sub(1).max(1).to_string().len();
        format!("{}-{:0width$}", self.prefix, index)
    }
}

/// One member's settings: the template's, with its own id, dirs and root.
pub fn member_config(template: &DaemonConfig, spec: &SwarmSpec, index: usize) -> DaemonConfig {
    let id = spec.id(index);
    let home = spec.dir.join(&id);
    let mut config = template.clone();
    config.pki_dir = home.join("pki");
    config.cachedir = home.join("cache");
    config.state_root = home.join("root");
    config.trim_code_pages = false;
    // A member writes no grains file: the template's is not its own.
    config.grains_file = None;
    config.id = id;
    config
}

/// A member's grains: the host's, as another host with this id would send
/// them, plus `swarm_index` so a bench can target part of the swarm.
pub fn member_grains(host: &Value, id: &str, index: usize) -> Value {
    let mut grains = host.clone();
    if let Value::Object(map) = &mut grains {
        for key in ["id", "host", "nodename", "fqdn"] {
            map.insert(key.into(), Value::String(id.to_string()));
        }
        map.insert("swarm_index".into(), Value::from(index as u64));
    }
    grains
}

/// Runs every member until the process ends; a member whose daemon stops
/// with an error is logged and the rest go on.
pub async fn run(spec: SwarmSpec, template: DaemonConfig, host_grains: Value) {
    std::fs::create_dir_all(&spec.dir).ok();
    let host = Arc::new(host_grains);
    let step = spec.ramp.checked_div(spec.count.max(1) as u32);
    let mut members = tokio::task::JoinSet::new();
    for index in 0..spec.count {
        let config = member_config(&template, &spec, index);
        let grains = Arc::new(member_grains(&host, &config.id, index));
        let source: daemon::GrainsSource = Arc::new(move || (*grains).clone());
        if let Err(e) = std::fs::create_dir_all(&config.state_root) {
            tracing::error!(id = %config.id, error = %e, "cannot make the member's root");
            continue;
        }
        members.spawn(async move {
            let id = config.id.clone();
            if let Err(e) = daemon::serve(config, source).await {
                tracing::error!(id = %id, error = %format!("{e:#}"), "swarm member stopped");
            }
        });
        if let Some(step) = step.filter(|s| !s.is_zero()) {
            tokio::time::sleep(step).await;
        }
    }
    tracing::info!(count = spec.count, dir = %spec.dir.display(), "swarm started");
    while members.join_next().await.is_some() {}
}

/// The sockets one member holds: one per master in its list (`master_type:
/// str` keeps a session with each), one under `failover`.
pub fn sessions_per_member(template: &DaemonConfig) -> usize {
    match template.master_type {
        daemon::masters::MasterType::Failover => 1,
        daemon::masters::MasterType::Str => template.masters.len().max(1),
    }
}

/// Raises this process's open-file limit to its hard limit: every member
/// holds a socket.
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        lim.rlim_cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(count: usize) -> SwarmSpec {
        SwarmSpec {
            count,
            prefix: "sw".into(),
            dir: "/tmp/swarm".into(),
            ramp: Duration::ZERO,
        }
    }

    #[test]
    fn ids_are_padded_to_the_largest_index() {
        assert_eq!(spec(10).id(3), "sw-3");
        assert_eq!(spec(10_000).id(3), "sw-0003");
        assert_eq!(spec(10_001).id(10_000), "sw-10000");
    }

    #[test]
    fn members_get_their_own_id_dirs_and_grains() {
        let template = DaemonConfig::from_raw("x".into(), &Default::default()).unwrap();
        let c = member_config(&template, &spec(100), 7);
        assert_eq!(c.id, "sw-07");
        assert_eq!(c.pki_dir, std::path::Path::new("/tmp/swarm/sw-07/pki"));
        assert_eq!(c.state_root, std::path::Path::new("/tmp/swarm/sw-07/root"));
        assert!(!c.trim_code_pages);
        let host = serde_json::json!({"id": "h", "host": "h", "os": "Debian"});
        let g = member_grains(&host, &c.id, 7);
        assert_eq!(g["id"], "sw-07");
        assert_eq!(g["host"], "sw-07");
        assert_eq!(g["os"], "Debian");
        assert_eq!(g["swarm_index"], 7);
    }

    #[test]
    fn a_member_holds_a_socket_per_master_unless_failover() {
        let config = |yaml: serde_json::Value| {
            DaemonConfig::from_raw("x".into(), yaml.as_object().unwrap()).unwrap()
        };
        let two = serde_json::json!(["127.0.0.1:4506", "127.0.0.1:4606"]);
        assert_eq!(sessions_per_member(&config(serde_json::json!({}))), 1);
        assert_eq!(
            sessions_per_member(&config(serde_json::json!({"master": two}))),
            2
        );
        assert_eq!(
            sessions_per_member(&config(
                serde_json::json!({"master": two, "master_type": "failover"})
            )),
            1
        );
    }
}
