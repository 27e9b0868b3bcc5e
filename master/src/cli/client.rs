//! The operator's connection to the master's operator port, with the
//! operator's own key. On the master host the daemon made a `local`
//! operator key that root can read; from a laptop the key lives in
//! `~/.config/brine/operator.key` and its `.pub` goes into the master's
//! `pki/operators/`.
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use transport::keys::{KeyPair, PublicKey};
use transport::link::{self, Link, LinkOptions};
use transport::wire::{Admission, Claim, OpReply};

use crate::config::{MasterConfig, DEFAULT_MASTER_CONFIG};

/// Where to find the master and which key to use.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientOpts {
    /// Master config (on the master host: its pki_dir and operator_port).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// The master's address, `host[:port]` (default: this host); several,
    /// comma-separated, are tried in order and the first that answers is
    /// used.
    #[arg(long, value_name = "HOST[:PORT][,...]", global = true)]
    pub master: Option<String>,
    /// The operator's private key (default: the local operator key on the
    /// master host, else ~/.config/brine/operator.key).
    #[arg(long = "operator-key", value_name = "FILE", global = true)]
    pub operator_key: Option<PathBuf>,
}

fn user_dir() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("brine")
}

/// `~/.config/brine/operator.yaml`: `master: host[:port]`, or a list of
/// them.
fn operator_yaml_masters() -> Option<Vec<String>> {
    let text = std::fs::read_to_string(user_dir().join("operator.yaml")).ok()?;
    let v = common::yaml::load(&text).ok()?;
    match v.get("master")? {
        common::data::Value::Array(list) => Some(
            list.iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect(),
        ),
        m => m.as_str().map(|m| vec![m.to_string()]),
    }
}

/// The masters to try, in order: `--master` (comma-separated), else
/// operator.yaml's; `None` for this host's master.
fn remote_masters(opts: &ClientOpts) -> Result<Option<Vec<String>>> {
    let list = match &opts.master {
        Some(m) => Some(
            m.split(',')
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect::<Vec<_>>(),
        ),
        None => operator_yaml_masters(),
    };
    match list {
        Some(l) if l.is_empty() => bail!("--master (or operator.yaml's master:) names no master"),
        l => Ok(l),
    }
}

/// Why one master of the list gave no link: it did not answer (the next
/// one is tried), or it answered no (the command stops there).
enum Attempt {
    Unreachable(anyhow::Error),
    Answered(anyhow::Error),
}

pub fn load_config(opts: &ClientOpts) -> Result<MasterConfig> {
    Ok(match &opts.config {
        Some(p) => MasterConfig::load(p, true)?,
        None => MasterConfig::load(std::path::Path::new(DEFAULT_MASTER_CONFIG), false)?,
    })
}

pub async fn connect(opts: &ClientOpts) -> Result<Link> {
    let waits = LinkOptions {
        connect_timeout: Duration::from_secs(5),
        handshake_timeout: Duration::from_secs(10),
    };
    connect_with(opts, waits).await
}

/// [`connect`] with its own waits: each step, and the master's admission
/// after the handshake, may take `waits.handshake_timeout`.
async fn connect_with(opts: &ClientOpts, waits: LinkOptions) -> Result<Link> {
    let config = load_config(opts)?;
    let remotes = remote_masters(opts)?;
    let endpoints: Vec<String> = match &remotes {
        Some(list) => list
            .iter()
            .map(|m| match m.contains(':') {
                true => format!("tcp://{m}"),
                false => format!("tcp://{m}:{}", config.operator_port),
            })
            .collect(),
        None => vec![format!("tcp://127.0.0.1:{}", config.operator_port)],
    };
    let local_key = config.pki_dir.join("operator.key");
    let key_path = match &opts.operator_key {
        Some(p) => p.clone(),
        None if remotes.is_none() && local_key.exists() => local_key,
        None => user_dir().join("operator.key"),
    };
    let created = !key_path.exists();
    let key = KeyPair::load_or_create(&key_path)
        .with_context(|| format!("operator key {}", key_path.display()))?;
    if created {
        eprintln!(
            "created operator key {}; the master admits it once {} is copied to its pki/operators/NAME.pub",
            key_path.display(),
            key_path.with_extension("pub").display()
        );
    }
    let several = endpoints.len() > 1;
    let mut unreachable = Vec::new();
    for endpoint in &endpoints {
        // The master's key: the one in its pki dir on the master host, else
        // trust on first use, remembered beside the operator key (a file
        // per master when there are several: each has its own key).
        let pinned_path = if remotes.is_none() && config.pki_dir.join("master.pub").exists() {
            config.pki_dir.join("master.pub")
        } else if several {
            let name = transport::keys::address_file_part(endpoint.trim_start_matches("tcp://"));
            key_path.with_file_name(format!("master-{name}.pub"))
        } else {
            key_path.with_file_name("master.pub")
        };
        match connect_one(endpoint, &key, &pinned_path, waits).await {
            Ok(link) => {
                if several {
                    eprintln!("using the master at {endpoint}");
                }
                return Ok(link);
            }
            Err(Attempt::Unreachable(e)) if several => {
                eprintln!("the master at {endpoint} does not answer ({e:#}); trying the next");
                unreachable.push(endpoint.as_str());
            }
            Err(Attempt::Unreachable(e) | Attempt::Answered(e)) => return Err(e),
        }
    }
    bail!("no master answers: tried {}", unreachable.join(", "))
}

async fn connect_one(
    endpoint: &str,
    key: &KeyPair,
    pinned_path: &std::path::Path,
    waits: LinkOptions,
) -> std::result::Result<Link, Attempt> {
    let verify = |k: &PublicKey| -> std::result::Result<(), String> {
        match PublicKey::load(pinned_path) {
            Ok(known) if known == *k => Ok(()),
            Ok(known) => Err(format!(
                "expected {} (from {})",
                known.fingerprint(),
                pinned_path.display()
            )),
            Err(_) => k.save(pinned_path).map_err(|e| e.to_string()),
        }
    };
    let mut link = match link::connect(endpoint, key, &Claim::Operator, verify, waits).await {
        Ok(l) => l,
        Err(e) => {
            let answered = matches!(e, link::LinkError::ServerKey { .. });
            let e = anyhow::Error::new(e).context(format!("cannot reach the master at {endpoint}"));
            return Err(if answered {
                Attempt::Answered(e)
            } else {
                Attempt::Unreachable(e)
            });
        }
    };
    // A master that took the handshake but never answers must not hang the
    // command.
    let admission = tokio::time::timeout(waits.handshake_timeout, link.rx.recv::<OpReply>())
        .await
        .map_err(|_| {
            Attempt::Unreachable(anyhow::anyhow!(
                "the master at {endpoint} did not admit or refuse this operator within {:?}",
                waits.handshake_timeout
            ))
        })?
        .map_err(|e| Attempt::Unreachable(e.into()))?;
    match admission {
        OpReply::Admission(Admission::Accepted) => Ok(link),
        OpReply::Admission(Admission::Refused { reason }) => Err(Attempt::Answered(
            anyhow::anyhow!("the master refused: {reason}"),
        )),
        other => Err(Attempt::Answered(anyhow::anyhow!(
            "unexpected answer from the master: {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use transport::keys::{KeyPair, PublicKey};
    use transport::wire::{Admission, Claim};

    use super::*;
    use crate::listener::{self, Handler, Limits, OperatorPeer};

    /// Takes the handshake, then decides nothing for a while (a master that
    /// is stuck, or lost the third handshake message).
    struct Undecided;

    impl Handler for Undecided {
        type Sends = transport::wire::OpReply;

        fn admit(&self, _key: &PublicKey, _claim: &Claim) -> Admission {
            std::thread::sleep(Duration::from_secs(3));
            Admission::Accepted
        }
        fn opened(&self, _peer: &Arc<OperatorPeer>) {}
        fn message(&self, _peer: &Arc<OperatorPeer>, _bytes: Vec<u8>) {}
        fn closed(&self, _peer: &Arc<OperatorPeer>) {}
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_master_that_never_admits_the_operator_does_not_hang_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        let key = Arc::new(KeyPair::load_or_create(&pki.join("master.key")).unwrap());
        key.public.save(&pki.join("master.pub")).unwrap();
        // The stuck master runs on its own runtime: its blocked worker must
        // not stall the timers of the command under test, as it would if
        // both shared one (no other worker may be driving them).
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let endpoint = listener::serve(
                    "tcp://127.0.0.1:0",
                    key,
                    Arc::new(Undecided),
                    Limits::default(),
                )
                .await
                .unwrap();
                tx.send(endpoint).unwrap();
                std::future::pending::<()>().await
            })
        });
        let endpoint = rx.recv().unwrap();
        let port = endpoint.rsplit(':').next().unwrap();
        let config = dir.path().join("master.yaml");
        std::fs::write(
            &config,
            format!("operator_port: {port}\npki_dir: {}\n", pki.display()),
        )
        .unwrap();
        let opts = ClientOpts {
            config: Some(config),
            master: None,
            operator_key: Some(dir.path().join("operator.key")),
        };
        let waits = LinkOptions {
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_millis(500),
        };
        let err = connect_with(&opts, waits)
            .await
            .err()
            .expect("no admission");
        assert!(
            err.to_string()
                .contains("did not admit or refuse this operator"),
            "{err:#}"
        );
    }
}
