//! Every message that crosses the network, as typed enums, MessagePack on the
//! wire inside a Noise session.
//!
//! Nothing is dispatched by a string that came off the network: a peer can
//! only send a variant of the enum its side of the connection accepts, and a
//! message that does not decode into one is refused whole. Decoding happens
//! only after the Noise session opened the frames, i.e. after the handshake
//! proved who sent them.
use serde::{Deserialize, Serialize};

use common::data::{Map, Value};
pub use common::env_name::EnvName;
use common::target::TargetKind;

pub use crate::jid::{InvalidJid, Jid};

/// The largest plaintext message accepted (a job with its files, a return).
pub const MAX_MESSAGE: usize = 64 << 20;

/// The most mine data one minion may send (encoded): the master keeps every
/// minion's mine in memory and hands it to every render that asks.
pub const MAX_MINE: usize = 1 << 20;

/// The encoded size of a [`MinionMsg::Mine`]'s data, to hold against [`MAX_MINE`].
pub fn mine_size(data: &Map<String, Value>) -> usize {
    rmp_serde::to_vec_named(data).map_or(usize::MAX, |b| b.len())
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("cannot decode a message: {0}")]
    Decode(String),
    #[error("cannot encode a message: {0}")]
    Encode(String),
}

pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, WireError> {
    rmp_serde::to_vec_named(msg).map_err(|e| WireError::Encode(e.to_string()))
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, WireError> {
    if bytes.len() > MAX_MESSAGE {
        return Err(WireError::Decode(format!(
            "{} bytes is over the limit of {MAX_MESSAGE}",
            bytes.len()
        )));
    }
    rmp_serde::from_slice(bytes).map_err(|e| WireError::Decode(e.to_string()))
}

/// What the initiator claims in the third handshake message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Claim {
    Minion {
        id: String,
    },
    Operator,
    /// A one-shot session of `minion apply` through the master (Salt's
    /// `salt-call`): admitted by the same key as the daemon of that id, but
    /// never replaces the daemon's session and is never held while pending.
    MinionCall {
        id: String,
    },
}

/// The master's first word after a handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Admission {
    /// Accepted: go on.
    Accepted,
    /// Key recorded as pending; try again later.
    Pending,
    /// Rejected, or another key holds this id, or not an operator.
    Refused { reason: String },
}

/// Minion → master.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MinionMsg {
    /// Sent right after admission, and again when they change.
    Grains {
        grains: Value,
    },
    Ping,
    /// A finished job; kept in the minion's outbox until [`MasterMsg::ReturnAck`].
    Return(JobReturn),
    /// The answer to a [`MasterMsg::Probe`].
    ProbeReply {
        req: u64,
        reply: Result<Value, String>,
    },
    /// Asks for the contents of files by SHA-256 (job manifest) or by url.
    Fetch {
        req: u64,
        jid: Jid,
        what: FetchWhat,
    },
    /// Asks the master to render a `salt://` template for the running job.
    Render {
        req: u64,
        jid: Jid,
        url: String,
        context: Map<String, Value>,
    },
    /// Lists a `salt://` directory for the running job (file.recurse).
    List {
        req: u64,
        jid: Jid,
        url: String,
        dirs: bool,
    },
    /// The returns of this minion's `mine_functions` by mine key (Salt's
    /// `mine.update`), sent on start and every `mine_interval`; merged over
    /// what the master has, as Salt's `clear=False`. At most [`MAX_MINE`].
    Mine {
        data: Map<String, Value>,
    },
    /// Asks the master to start a state run on this minion (`minion apply`
    /// through the master, or a run of the minion's `schedule`): answered by
    /// [`MasterMsg::JobStarted`]; the job then comes as a [`MasterMsg::Job`]
    /// and the return, once in the job cache, as [`MasterMsg::JobRecorded`].
    StartJob {
        req: u64,
        job: MinionJob,
    },
}

/// A state run a minion asks for itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinionJob {
    pub sls: Vec<String>,
    pub test: bool,
    #[serde(default)]
    pub env: PublishEnv,
    /// Set for a run of the minion's `schedule`.
    pub schedule: Option<ScheduleRun>,
}

/// Which entry of the minion's `schedule` a run is, and how often it runs
/// (the master judges a minion stale past twice that).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRun {
    pub name: String,
    pub interval_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FetchWhat {
    Blobs(Vec<String>),
    Url(String),
}

/// Master → minion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MasterMsg {
    Admission(Admission),
    Pong,
    Job(Job),
    ReturnAck {
        jid: Jid,
    },
    /// A read of the minion's host that the renderer needs.
    Probe {
        req: u64,
        call: ProbeCall,
    },
    Fetched {
        req: u64,
        reply: Result<Vec<Blob>, String>,
    },
    Rendered {
        req: u64,
        reply: Result<String, String>,
    },
    Listed {
        req: u64,
        reply: Result<Vec<String>, String>,
    },
    /// The `mine_functions` of this minion's pillar, which Salt's minion
    /// merges over its config's (`config.merge`): sent when the master
    /// compiles its pillar on connecting, on new grains and on
    /// `saltutil.refresh_pillar`.
    MineFunctions {
        functions: Vec<common::config::MineFunction>,
    },
    /// The answer to a [`MinionMsg::StartJob`]: the job's id, or why no job.
    JobStarted {
        req: u64,
        reply: Result<Jid, String>,
    },
    /// A job the minion started itself, as the job cache recorded it
    /// (secrets hidden); also its outcome when the master answered it
    /// without running anything (the tree did not compile).
    JobRecorded {
        ret: JobReturn,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blob {
    pub sha256: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// The host reads a template may make (Salt's execution functions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProbeCall {
    Cmd {
        command: String,
        cwd: Option<String>,
        shell: Option<String>,
        env: Vec<(String, String)>,
        no_shell: bool,
    },
    FileExists(String),
    DirectoryExists(String),
    UserInfo(String),
    HasExec(String),
}

/// A unit of work for one minion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub jid: Jid,
    pub kind: JobKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobKind {
    /// Compiled low chunks, the minion's own pillar (for `contents_pillar`),
    /// and the `salt://` files the chunks name, by SHA-256.
    Apply {
        chunks: Vec<Map<String, Value>>,
        test: bool,
        pillar: Value,
        manifest: Vec<(String, String)>,
    },
    /// An execution function (`test.ping`, `cmd.run`, ...).
    Run {
        fun: String,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobReturn {
    pub jid: Jid,
    /// `true` when the function ran and every state succeeded.
    pub success: bool,
    /// For apply: the result map keyed `mod_|-id_|-name_|-fun`; for run, the
    /// function's return.
    pub ret: Value,
    /// Exit status as `minion apply` would give it (0, 1 or 2).
    pub retcode: i32,
}

/// Operator → master.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OpRequest {
    Keys(KeysOp),
    Publish(Publish),
    JobsList,
    JobsActive,
    JobShow {
        jid: Jid,
    },
    Render {
        minion: String,
        sls: Vec<String>,
        /// The job's saltenv and pillarenv (`None`: as the master's config says).
        #[serde(default)]
        saltenv: Option<String>,
        #[serde(default)]
        pillarenv: Option<String>,
    },
    /// Sent every few seconds by an operator waiting on a job: the master
    /// closes sessions that say nothing for a while. Not answered.
    Ping,
    /// `master secrets who KEY:PATH`: which accepted minions' pillar holds
    /// that key path (never its value).
    SecretsWho {
        path: String,
    },
    /// `master drift [TARGET]`: per targeted minion, whether its last
    /// scheduled dry run found pending changes, and since when.
    Drift {
        target: String,
        tgt_type: TargetKind,
    },
    /// `master fileserver update`: fetch the git remotes now; answered
    /// with the status after.
    FileserverUpdate,
    /// `master fileserver status`: each git remote, its pinned commits,
    /// last fetch and last error.
    FileserverStatus,
    /// `master events`: the first on a session subscribes to the events
    /// whose tag matches `tag` (a glob; all without one), holding at most
    /// `queue` of them for this operator (0: the master's default); each one
    /// after it asks for the next batch. Answered by [`OpReply::Events`].
    Events {
        tag: Option<String>,
        queue: u32,
    },
    /// `master plan`: what a candidate state tree would change per minion;
    /// nothing is published.
    Plan(Box<crate::wire_plan::PlanRequest>),
    /// `master apply --plan FILE`: a saved plan's chunks, published only if
    /// nothing it was compiled from moved since. Streams as a publish does.
    ApplyPlan(Box<crate::wire_plan::ApplyPlanRequest>),
    /// `master acl show`: the operator ACL the master applies, and where
    /// it lives (`config`, or `postgres` shared by every master).
    AclShow,
    /// `master acl set FILE`: replaces the ACL shared in PostgreSQL; `acl`
    /// is the JSON of the value the config's `acl` key takes.
    AclSet {
        acl: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum KeysOp {
    List,
    Accept { id: Option<String>, all: bool },
    Reject { id: String },
    Delete { id: String },
    Fingerprint { id: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publish {
    pub target: String,
    /// On the wire by Salt's name (`glob`, `pcre`, `list`, `grain`,
    /// `pillar`, `ipcidr`, `compound`, `nodegroup`...): an unknown name does
    /// not decode.
    pub tgt_type: TargetKind,
    pub what: PublishWhat,
    pub timeout_secs: u64,
    pub batch: Option<Batch>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PublishWhat {
    Apply {
        sls: Vec<String>,
        test: bool,
        #[serde(default)]
        env: PublishEnv,
    },
    Run {
        fun: String,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    },
}

/// A state run's environments and command-line pillar (Salt's `saltenv=`,
/// `pillarenv=`, `pillar=`), checked when decoded: a name that is not a
/// label, or a pillar that is not a map, does not decode. The pillar is
/// bounded by [`MAX_MESSAGE`] like the rest of the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PublishEnv {
    pub saltenv: Option<EnvName>,
    pub pillarenv: Option<EnvName>,
    pub pillar: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Batch {
    Count(usize),
    Percent(u8),
}

/// Master → operator. A publish streams `Expected`, then one `Returned` per
/// minion, then `Done`; every other request gets one `Reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OpReply {
    Admission(Admission),
    Expected {
        jid: Jid,
        minions: Vec<String>,
    },
    Returned {
        minion: String,
        ret: JobReturn,
    },
    /// Sent every few seconds while a publish waits: the operator can tell
    /// a slow fleet from a master that is gone.
    Waiting {
        jid: Jid,
    },
    Done {
        jid: Jid,
        missing: Vec<String>,
    },
    Reply(Result<Value, String>),
    /// The events fired since the last batch, oldest first; empty when none
    /// came for a few seconds (the master is still there).
    Events(Vec<Event>),
}

/// One event of the master's bus: Salt's tag and data (`salt/job/<jid>/new`...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub tag: String,
    pub data: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let msg = MasterMsg::Job(Job {
            jid: "20261124101010123456".parse().unwrap(),
            kind: JobKind::Apply {
                chunks: vec![Map::new()],
                test: true,
                pillar: serde_json::json!({"a": [1, 2.5, "x", null, true]}),
                manifest: vec![("salt://a".into(), "ab".into())],
            },
        });
        let bytes = encode(&msg).unwrap();
        assert_eq!(decode::<MasterMsg>(&bytes).unwrap(), msg);
        let blob = MasterMsg::Fetched {
            req: 1,
            reply: Ok(vec![Blob {
                sha256: "x".into(),
                data: vec![0, 255, 7],
            }]),
        };
        assert_eq!(decode::<MasterMsg>(&encode(&blob).unwrap()).unwrap(), blob);
    }

    #[test]
    fn garbage_and_wrong_direction_are_refused() {
        assert!(decode::<MinionMsg>(b"\xc1\xff").is_err());
        assert!(decode::<MinionMsg>(&[]).is_err());
        // A master message is not a minion message.
        let bytes = encode(&MasterMsg::Pong).unwrap();
        assert!(decode::<MinionMsg>(&bytes).is_err());
    }

    /// A job id travels as the string it is; one that is not 20 digits does
    /// not decode, so no malformed jid reaches the code behind the wire.
    #[test]
    fn jids_are_strings_on_the_wire_and_malformed_ones_are_refused() {
        #[derive(Serialize)]
        enum LooseMasterMsg {
            ReturnAck { jid: String },
        }
        let good = "20261124101010123456";
        let typed = encode(&MasterMsg::ReturnAck {
            jid: good.parse().unwrap(),
        })
        .unwrap();
        let loose = encode(&LooseMasterMsg::ReturnAck { jid: good.into() }).unwrap();
        assert_eq!(typed, loose);
        for bad in [
            "../../../etc/passwd",
            "2026112410101012345",
            "",
            "2026112410101012345x",
        ] {
            let bytes = encode(&LooseMasterMsg::ReturnAck { jid: bad.into() }).unwrap();
            let e = decode::<MasterMsg>(&bytes).unwrap_err().to_string();
            assert!(e.contains("invalid job id"), "{bad:?}: {e}");
        }
        let ret = JobReturn {
            jid: good.parse().unwrap(),
            success: true,
            ret: Value::Null,
            retcode: 0,
        };
        let mut bytes = encode(&MinionMsg::Return(ret.clone())).unwrap();
        assert_eq!(decode::<MinionMsg>(&bytes).unwrap(), MinionMsg::Return(ret));
        // The same return with one digit of its jid turned into a slash.
        let at = bytes
            .windows(20)
            .position(|w| w == good.as_bytes())
            .unwrap();
        bytes[at + 3] = b'/';
        assert!(decode::<MinionMsg>(&bytes).is_err());
    }

    /// `tgt_type` travels as Salt's name, and only a name Brine matches on
    /// decodes.
    #[test]
    fn target_kinds_travel_by_salt_name() {
        #[derive(Serialize)]
        struct LoosePublish<'a> {
            target: &'a str,
            tgt_type: &'a str,
            what: PublishWhat,
            timeout_secs: u64,
            batch: Option<Batch>,
        }
        let what = PublishWhat::Apply {
            sls: vec![],
            test: false,
            env: PublishEnv::default(),
        };
        for (name, kind) in TargetKind::NAMES {
            let loose = LoosePublish {
                target: "*",
                tgt_type: name,
                what: what.clone(),
                timeout_secs: 5,
                batch: None,
            };
            let typed = Publish {
                target: "*".into(),
                tgt_type: kind,
                what: what.clone(),
                timeout_secs: 5,
                batch: None,
            };
            assert_eq!(encode(&loose).unwrap(), encode(&typed).unwrap(), "{name}");
            assert_eq!(decode::<Publish>(&encode(&loose).unwrap()).unwrap(), typed);
        }
        let unknown = LoosePublish {
            target: "*",
            tgt_type: "range",
            what,
            timeout_secs: 5,
            batch: None,
        };
        let e = decode::<Publish>(&encode(&unknown).unwrap()).unwrap_err();
        assert!(
            e.to_string().contains("unknown target type \"range\""),
            "{e}"
        );
    }

    /// A publish's environments travel as checked names and its pillar as a
    /// map: anything else does not decode, so the master never compiles for
    /// a saltenv `../x` or merges a list over a pillar.
    #[test]
    fn job_env_names_and_pillar_are_checked_when_decoded() {
        #[derive(Serialize)]
        enum LooseWhat {
            Apply {
                sls: Vec<String>,
                test: bool,
                env: LooseEnv,
            },
        }
        #[derive(Serialize)]
        struct LooseEnv {
            saltenv: Option<String>,
            pillarenv: Option<String>,
            pillar: Option<Value>,
        }
        let loose = |saltenv: &str, pillarenv: &str, pillar: Value| LooseWhat::Apply {
            sls: vec!["web".into()],
            test: false,
            env: LooseEnv {
                saltenv: Some(saltenv.into()),
                pillarenv: Some(pillarenv.into()),
                pillar: Some(pillar),
            },
        };
        let good = encode(&loose("prod", "stage", serde_json::json!({"k": {"n": 1}}))).unwrap();
        let PublishWhat::Apply { env, .. } = decode::<PublishWhat>(&good).unwrap() else {
            panic!("not an apply")
        };
        assert_eq!(env.saltenv.unwrap().as_str(), "prod");
        assert_eq!(env.pillarenv.unwrap().as_str(), "stage");
        assert_eq!(env.pillar.unwrap()["k"]["n"], 1);
        let long = "x".repeat(common::env_name::MAX_ENV_NAME + 1);
        for (saltenv, pillarenv, pillar) in [
            ("", "base", serde_json::json!({})),
            ("a/b", "base", serde_json::json!({})),
            ("base", "a\0b", serde_json::json!({})),
            ("base", long.as_str(), serde_json::json!({})),
            ("base", "base", serde_json::json!([1, 2])),
            ("base", "base", serde_json::json!("text")),
        ] {
            let bytes = encode(&loose(saltenv, pillarenv, pillar.clone())).unwrap();
            assert!(
                decode::<PublishWhat>(&bytes).is_err(),
                "{saltenv:?} {pillarenv:?} {pillar}"
            );
        }
        // An apply from an operator that sends no environment is the config's.
        #[derive(Serialize)]
        enum OldWhat {
            Apply { sls: Vec<String>, test: bool },
        }
        let old = encode(&OldWhat::Apply {
            sls: vec![],
            test: true,
        })
        .unwrap();
        assert_eq!(
            decode::<PublishWhat>(&old).unwrap(),
            PublishWhat::Apply {
                sls: vec![],
                test: true,
                env: PublishEnv::default()
            }
        );
    }
}
