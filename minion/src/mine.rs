//! This minion's side of the mine: running its `mine_functions` (Salt's
//! `mine.update`), for the daemon to send to the master and for masterless
//! `mine.get`, which Salt answers from this minion's own data only.
use std::path::{Path, PathBuf};

use common::config::MineFunction;
use common::data::{Map, Value};
use common::render::mine::{select, MineError, MineSource, Mined};
use common::render::{CmdOptions, CmdOutput, HostProbe, ProbeError};
use common::target::{Facts, Target, TargetKind};

use crate::probe::LocalProbe;

/// Runs each function through the exec table, under `root`; a function the
/// table lacks, one that may change the host, or one that fails is logged
/// as an error naming it and left out, as Salt's `mine.update` leaves it out.
pub fn run(functions: &[MineFunction], root: &Path, grains: &Value) -> Map<String, Value> {
    let mut data = Map::new();
    for f in functions {
        let call = match states::exec::Call::parse(&f.function, &f.args, &f.kwargs) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(mine_key = %f.alias, function = %f.function, error = %e, "mine function skipped");
                continue;
            }
        };
        if !call.read_only() || call.function.answered_by != states::exec::AnsweredBy::Minion {
            tracing::error!(mine_key = %f.alias, function = %f.function, "mine function skipped: the mine runs only functions that read the host");
            continue;
        }
        let host = states::state::HostRead::new(
            root.to_path_buf(),
            std::sync::Arc::new(states::exec::NoSources),
        );
        match call.run(&states::exec::ExecEnv {
            host: &host,
            grains,
            grains_file: None,
        }) {
            Ok(v) => {
                data.insert(f.alias.clone(), v);
            }
            Err(e) => {
                tracing::error!(mine_key = %f.alias, function = %f.function, error = %e, "mine function failed");
            }
        }
    }
    data
}

/// Masterless `mine.get`: this minion, if the target matches it, with its
/// mine functions run now (Salt reads what `mine.update` last stored in the
/// local cache; here that update is made when asked).
pub struct LocalMine {
    pub id: String,
    pub grains: Value,
    pub nodegroups: Map<String, Value>,
    pub functions: Vec<MineFunction>,
    pub root: PathBuf,
}

impl MineSource for LocalMine {
    fn matching(
        &self,
        tgt: &Value,
        kind: TargetKind,
        functions: &[String],
        pillar_functions: &[MineFunction],
    ) -> Result<Mined, MineError> {
        let target = Target::parse_value(tgt, kind, &self.nodegroups)?;
        if target.needs_pillar() {
            return Err(MineError::NeedsPillar { kind });
        }
        let empty = Value::Object(Map::new());
        let facts = Facts {
            id: &self.id,
            grains: &self.grains,
            pillar: &empty,
        };
        if !target.matches(&facts) {
            return Ok(Vec::new());
        }
        let wanted: Vec<MineFunction> =
            common::config::merge_mine_functions(&self.functions, pillar_functions)
                .into_iter()
                .filter(|f| functions.contains(&f.alias))
                .collect();
        let data = select(&run(&wanted, &self.root, &self.grains), functions);
        Ok(if data.is_empty() {
            Vec::new()
        } else {
            vec![(self.id.clone(), data)]
        })
    }

    fn generation(&self) -> u64 {
        0
    }
}

/// Masterless mode's probe: this host, and its own mine.
pub struct MasterlessProbe {
    pub mine: LocalMine,
}

impl HostProbe for MasterlessProbe {
    fn cmd(&self, command: &str, options: &CmdOptions) -> Result<CmdOutput, ProbeError> {
        LocalProbe.cmd(command, options)
    }
    fn file_exists(&self, path: &str) -> Result<bool, ProbeError> {
        LocalProbe.file_exists(path)
    }
    fn directory_exists(&self, path: &str) -> Result<bool, ProbeError> {
        LocalProbe.directory_exists(path)
    }
    fn user_info(&self, name: &str) -> Result<Value, ProbeError> {
        LocalProbe.user_info(name)
    }
    fn has_exec(&self, name: &str) -> Result<bool, ProbeError> {
        LocalProbe.has_exec(name)
    }
    fn mine(&self) -> Option<&dyn MineSource> {
        Some(&self.mine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn functions(yaml: &str) -> Vec<MineFunction> {
        common::config::mine_functions(&common::yaml::load(yaml).unwrap()).unwrap()
    }

    #[test]
    fn unknown_and_host_changing_functions_are_left_out() {
        let f = functions(
            "network.ip_addrs: [{include_loopback: true}]\n\
             echo: [{mine_function: test.echo}, hi]\n\
             nope.nothing: []\n\
             cmd.run: [touch /tmp/x]\n\
             pkg.install: [vim]\n",
        );
        let data = run(&f, Path::new("/"), &json!({}));
        assert_eq!(
            data.keys().collect::<Vec<_>>(),
            vec!["network.ip_addrs", "echo"]
        );
        assert!(data["network.ip_addrs"]
            .as_array()
            .unwrap()
            .contains(&json!("127.0.0.1")));
        assert_eq!(data["echo"], json!("hi"));
    }

    #[test]
    fn masterless_mine_get_answers_for_this_minion_only_when_it_matches() {
        let mine = LocalMine {
            id: "web1".into(),
            grains: json!({"id": "web1", "role": "web"}),
            nodegroups: Map::new(),
            functions: functions("echo: [{mine_function: test.echo}, hi]\n"),
            root: "/".into(),
        };
        let get = |tgt: &str, kind: &str| {
            common::render::mine::get(&mine, &json!(tgt), &json!("echo"), kind, &[])
        };
        assert_eq!(get("role:web", "grain").unwrap(), json!({"web1": "hi"}));
        assert_eq!(get("db*", "glob").unwrap(), json!({}));
        let e = get("role:web", "pillar").unwrap_err();
        assert!(e.to_string().contains("pillar"), "{e}");

        // The pillar's mine_functions merge over the config's (Salt's
        // config.merge): same key replaced, a new key added.
        let pillar = functions(
            "echo: [{mine_function: test.echo}, from pillar]\n\
             other: [{mine_function: test.echo}, more]\n",
        );
        let both = common::render::mine::get(
            &mine,
            &json!("web1"),
            &json!(["echo", "other"]),
            "glob",
            &pillar,
        )
        .unwrap();
        assert_eq!(
            both,
            json!({"echo": {"web1": "from pillar"}, "other": {"web1": "more"}})
        );
    }
}
