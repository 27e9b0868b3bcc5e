//! Template context and functions the public Salt formulas need, each checked
//! against what Salt 3007.8 answers (issue 11's formula corpus).
// Tests build their fixtures: clippy.toml's host-changing calls are fine here.
#![allow(clippy::disallowed_methods)]
use std::sync::Arc;

use common::render::{CmdOptions, CmdOutput, HostProbe, NoHost, ProbeError, Renderer, Session};
use serde_json::{json, Value};

fn render_with(
    opts: Value,
    probe: Arc<dyn HostProbe>,
    files: &[(&str, &str)],
    file: &str,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let r = Renderer::new(vec![dir.path().to_path_buf()]);
    let s = Session::new(
        &json!({"os_family": "Debian"}),
        &json!({}),
        &opts,
        "base",
        probe,
    );
    let sls = file
        .trim_end_matches(".sls")
        .trim_end_matches("/init")
        .replace('/', ".");
    r.render_text(&s, file, Some(&sls)).unwrap()
}

#[test]
fn tplpath_is_where_the_minion_cached_the_file() {
    // salt-call --local with cachedir /var/cache/salt/minion renders r/init.sls
    // with tplpath /var/cache/salt/minion/files/base/r/init.sls.
    let out = render_with(
        json!({"id": "m", "cachedir": "/var/cache/salt/minion"}),
        Arc::new(NoHost),
        &[("r/init.sls", "{{ tplpath }}|{{ tplfile }}")],
        "r/init.sls",
    );
    assert_eq!(
        out,
        "/var/cache/salt/minion/files/base/r/init.sls|r/init.sls"
    );
}

/// Runs commands on this host, as the minion's probe does.
struct ThisHost;

impl HostProbe for ThisHost {
    fn cmd(&self, command: &str, options: &CmdOptions) -> Result<CmdOutput, ProbeError> {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .map_err(|e| ProbeError::Failed(e.to_string()))?;
        Ok(CmdOutput {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            retcode: out.status.code().unwrap_or(-1),
        })
    }
    fn file_exists(&self, _: &str) -> Result<bool, ProbeError> {
        Ok(false)
    }
    fn directory_exists(&self, _: &str) -> Result<bool, ProbeError> {
        Ok(false)
    }
    fn user_info(&self, _: &str) -> Result<Value, ProbeError> {
        Ok(json!({}))
    }
    fn has_exec(&self, _: &str) -> Result<bool, ProbeError> {
        Ok(false)
    }
}

#[test]
fn status_time_formats_the_minions_clock_as_python_does() {
    // Salt's status.time is datetime.now().strftime(format); a format with no
    // seconds gives the same text from both unless a day boundary passes.
    let format = "%Y-%m-%d %A %B %j 'q' %%";
    let python = std::process::Command::new("python3")
        .arg("-c")
        .arg("import datetime, sys; print(datetime.datetime.now().strftime(sys.argv[1]))")
        .arg(format)
        .output()
        .expect("python3 runs");
    let want = String::from_utf8(python.stdout).unwrap();
    let out = render_with(
        json!({"id": "m"}),
        Arc::new(ThisHost),
        &[(
            "t.sls",
            "{{ salt['status.time'](\"%Y-%m-%d %A %B %j 'q' %%\") }}",
        )],
        "t.sls",
    );
    assert_eq!(out, want.trim_end());
    // The default format, and `is callable` as postgres-formula's pillar asks.
    let out = render_with(
        json!({"id": "m"}),
        Arc::new(ThisHost),
        &[("t.sls", "{{ salt['status.time']|default(none) is callable }} {{ salt['status.time']() | length > 10 }}")],
        "t.sls",
    );
    assert_eq!(out, "True True");
}

#[test]
fn random_picks_an_item_and_is_undefined_for_nothing() {
    // Jinja2's random filter: random.choice(seq); prometheus-formula's
    // pillar.example has `range(1, 100000) | random`.
    let out = render_with(
        json!({"id": "m"}),
        Arc::new(NoHost),
        &[(
            "t.sls",
            "{{ [7] | random }} {{ 'x' | random }} {{ (range(1, 4) | random) in [1, 2, 3] }} {{ ([] | random) is defined }}",
        )],
        "t.sls",
    );
    assert_eq!(out, "7 x True False");
}
