//! An SLS file of arbitrary text rendered the way the state compiler renders
//! one (`Renderer::render_sls`: Salt's tag rewrite, Jinja with Salt's
//! context, then YAML), next to a small formula it can import from
//! (`map.jinja`, `defaults.yaml`), with fixed grains and pillar and a probe
//! that answers instead of reading this host.
#![no_main]
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use common::data::Value;
use common::render::{CmdOptions, CmdOutput, HostProbe, ProbeError, Renderer, Session};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// Answers every host read from its arguments, so templates that branch on
/// `salt['cmd.run']` or `file.file_exists` get past the call.
struct EchoProbe;

impl HostProbe for EchoProbe {
    fn cmd(&self, command: &str, _: &CmdOptions) -> Result<CmdOutput, ProbeError> {
        Ok(CmdOutput {
            stdout: command.to_string(),
            stderr: String::new(),
            retcode: i32::from(command.len() % 2 == 1),
        })
    }
    fn file_exists(&self, path: &str) -> Result<bool, ProbeError> {
        Ok(path.starts_with("/etc"))
    }
    fn directory_exists(&self, path: &str) -> Result<bool, ProbeError> {
        Ok(path.ends_with('/'))
    }
    fn user_info(&self, name: &str) -> Result<Value, ProbeError> {
        Ok(json!({"name": name, "uid": 1000, "home": format!("/home/{name}")}))
    }
    fn has_exec(&self, name: &str) -> Result<bool, ProbeError> {
        Ok(name == "sh")
    }
}

struct Tree {
    root: PathBuf,
    session: Session,
}

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let root = tempfile::Builder::new()
            .prefix("brine-fuzz-sls")
            .tempdir()
            .expect("a scratch root")
            .keep();
        std::fs::create_dir_all(root.join("fmt")).expect("fmt/");
        std::fs::write(
            root.join("fmt/map.jinja"),
            include_str!("../../examples/salt/nginx/map.jinja"),
        )
        .expect("map.jinja");
        std::fs::write(
            root.join("fmt/defaults.yaml"),
            include_str!("../../examples/salt/nginx/defaults.yaml"),
        )
        .expect("defaults.yaml");
        let grains = json!({
            "id": "web1", "os": "Debian", "os_family": "Debian", "osmajorrelease": 12,
            "roles": ["web", "frontend"], "ipv4": ["127.0.0.1", "10.1.2.3"],
            "mem_total": 2048.5, "selinux": {"enabled": false},
        });
        let pillar = json!({
            "nginx": {"server_name": "app.example.com", "port": 8080},
            "users": ["alice", "bob"], "app": {"repo": "https://example.com/a.git"},
        });
        let opts = json!({"id": "web1", "saltenv": "base", "file_client": "local"});
        let session = Session::new(&grains, &pillar, &opts, "base", Arc::new(EchoProbe));
        Tree { root, session }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let tree = tree();
    std::fs::write(tree.root.join("fmt/init.sls"), text).expect("the SLS file");
    // A fresh renderer per input: a renderer caches compiled templates by name.
    let renderer = Renderer::new(vec![tree.root.clone()]);
    let _ = renderer.render_sls(&tree.session, "fmt/init.sls", Some("fmt"));
});
