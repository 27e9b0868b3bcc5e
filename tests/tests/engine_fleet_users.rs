//! user, group and ssh_auth applied for real by `minion apply --local` on a
//! booted Debian host (systemd-nspawn): the accounts exist as the shadow tools
//! made them, a second run changes nothing, a changed pillar changes only what
//! it should, and `absent` removes. Prints `skipped: <reason>` and returns where
//! containers cannot run.
use serde_json::Value;
use tests::fleet::{self, Container};

const TOP: &str = "base:\n  '*':\n    - accounts\n";
const PILLAR_TOP: &str = "base:\n  '*':\n    - accounts\n";

const ACCOUNTS: &str = "\
deployers:
  group.present:
    - gid: 3100

{% for name, user in pillar['users'].items() %}
{{ name }}:
  user.present:
    - uid: {{ user.uid }}
    - shell: {{ user.shell }}
    - home: /home/{{ name }}
    - createhome: True
    - groups:
      - deployers
    - require:
      - group: deployers
  ssh_auth.present:
    - user: {{ name }}
    - name: {{ user.key }}
    - require:
      - user: {{ name }}
{% endfor %}

{% for name in pillar.get('gone', []) %}
{{ name }}_gone:
  user.absent:
    - name: {{ name }}
    - purge: True
{% endfor %}
";

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxvZmdC0rW2b1mQq3P0m1s9Z6ZK3x1k2y3z4a5b6c7d deploy@laptop";

fn apply(c: &Container, test: bool) -> (i32, serde_json::Map<String, Value>) {
    let mut argv = vec!["minion", "apply", "--local", "--out", "json"];
    if test {
        argv.push("--test");
    }
    let out = c.exec(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "minion apply: {e}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        json["local"].as_object().cloned().unwrap_or_default(),
    )
}

fn set_pillar(c: &Container, shell: &str, gone: &[&str]) {
    let text = format!(
        "users:\n  deploy:\n    uid: 3001\n    shell: {shell}\n    key: {KEY}\ngone: {gone:?}\n"
    );
    c.write_file("/srv/pillar/accounts.sls", text, 0o644)
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn users_groups_and_keys_applied_on_a_real_host() {
    if !fleet::skip_or_continue("users_groups_and_keys_applied_on_a_real_host") {
        return;
    }
    let c = Container::boot("users1").unwrap_or_else(|e| panic!("{e}"));
    c.copy_in(tests::bin("minion"), "/usr/local/bin/minion")
        .unwrap_or_else(|e| panic!("{e}"));
    for (path, text) in [
        ("/srv/salt/top.sls", TOP),
        ("/srv/salt/accounts.sls", ACCOUNTS),
        ("/srv/pillar/top.sls", PILLAR_TOP),
    ] {
        c.write_file(path, text.as_bytes(), 0o644)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    set_pillar(&c, "/bin/bash", &[]);

    // The dry run: the group would be added; the user state fails as Salt's
    // does ("The following group(s) are not present"), because user.present
    // checks its groups before it looks at test mode. Nothing changes.
    let (code, dry) = apply(&c, true);
    assert_eq!(code, 2, "{dry:#?}");
    assert!(
        dry["group_|-deployers_|-deployers_|-present"]["result"].is_null(),
        "{dry:#?}"
    );
    assert_eq!(
        dry["user_|-deploy_|-deploy_|-present"]["comment"],
        "The following group(s) are not present: deployers"
    );
    assert_eq!(
        c.exec(&["getent", "passwd", "deploy"]).status.code(),
        Some(2),
        "--test created the user"
    );

    let (code, first) = apply(&c, false);
    assert_eq!(code, 0, "{first:#?}");
    assert!(first.values().all(|r| r["result"] == true), "{first:#?}");
    assert_eq!(
        c.run("getent passwd deploy"),
        "deploy:x:3001:3001::/home/deploy:/bin/bash"
    );
    assert_eq!(
        c.run("getent group deployers | cut -d: -f1,3,4"),
        "deployers:3100:deploy"
    );
    assert_eq!(c.run("stat -c '%U %a' /home/deploy"), "deploy 755");
    assert_eq!(c.run("cat /home/deploy/.ssh/authorized_keys"), KEY);
    assert_eq!(
        c.run("stat -c '%U %a' /home/deploy/.ssh /home/deploy/.ssh/authorized_keys"),
        "deploy 700\ndeploy 600"
    );

    let (_, again) = apply(&c, false);
    assert!(
        again
            .values()
            .all(|r| r["result"] == true && r["changes"].as_object().is_some_and(|m| m.is_empty())),
        "{again:#?}"
    );

    // A pillar change: only the shell changes.
    set_pillar(&c, "/bin/sh", &[]);
    let (_, changed) = apply(&c, false);
    let with_changes: Vec<&String> = changed
        .iter()
        .filter(|(_, r)| r["changes"].as_object().is_some_and(|m| !m.is_empty()))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        with_changes,
        vec!["user_|-deploy_|-deploy_|-present"],
        "{changed:#?}"
    );
    assert_eq!(c.run("getent passwd deploy | cut -d: -f7"), "/bin/sh");

    // absent with purge removes the account and its home.
    c.write_file(
        "/srv/pillar/accounts.sls",
        "users: {}\ngone: [deploy]\n",
        0o644,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, gone) = apply(&c, false);
    assert_eq!(code, 0, "{gone:#?}");
    assert_eq!(
        c.exec(&["getent", "passwd", "deploy"]).status.code(),
        Some(2)
    );
    assert!(
        c.exec(&["test", "-e", "/home/deploy"]).status.code() != Some(0),
        "purge left the home"
    );
}
