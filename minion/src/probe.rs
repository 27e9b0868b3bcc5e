//! The host probe of masterless mode: template calls read this host.
use std::path::Path;
use std::process::{Command, Stdio};

use common::data::{Map, Value};
use common::render::{CmdOptions, CmdOutput, HostProbe, ProbeError};
use serde_json::json;

/// Answers `salt['cmd.run']`, `file.file_exists`, `user.info` from this host.
pub struct LocalProbe;

impl HostProbe for LocalProbe {
    fn cmd(&self, command: &str, options: &CmdOptions) -> Result<CmdOutput, ProbeError> {
        let mut cmd = if options.no_shell {
            // python_shell=False: the words are argv, nothing is interpreted.
            let mut words = command.split_whitespace();
            let prog = words
                .next()
                .ok_or_else(|| ProbeError::Failed("empty command".into()))?;
            let mut c = Command::new(prog);
            c.args(words);
            c
        } else {
            let mut c = Command::new(options.shell.as_deref().unwrap_or("/bin/sh"));
            c.arg("-c").arg(command);
            c
        };
        if let Some(cwd) = &options.cwd {
            cmd.current_dir(cwd);
        }
        cmd.envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd.stdin(Stdio::null());
        let out = cmd
            .output()
            .map_err(|e| ProbeError::Failed(format!("cannot run command: {e}")))?;
        Ok(CmdOutput {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            retcode: out.status.code().unwrap_or(-1),
        })
    }

    fn file_exists(&self, path: &str) -> Result<bool, ProbeError> {
        Ok(Path::new(path).is_file())
    }

    fn directory_exists(&self, path: &str) -> Result<bool, ProbeError> {
        Ok(Path::new(path).is_dir())
    }

    fn has_exec(&self, name: &str) -> Result<bool, ProbeError> {
        use std::os::unix::fs::PermissionsExt;
        let is_exec = |p: &Path| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        };
        if name.contains('/') {
            return Ok(is_exec(Path::new(name)));
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        Ok(std::env::split_paths(&path).any(|dir| is_exec(&dir.join(name))))
    }

    fn user_info(&self, name: &str) -> Result<Value, ProbeError> {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
        Ok(user_info_from(name, &passwd, &group))
    }
}

/// Python's `shlex.split` (POSIX mode): quotes group words, backslash escapes.
/// `None` when a quote is left open.
pub fn shlex_split(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => w.push(c),
                            c => {
                                w.push('\\');
                                w.push(c);
                            }
                        },
                        c => w.push(c),
                    }
                }
            }
            '\\' => cur.get_or_insert_with(String::new).push(chars.next()?),
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    Some(words)
}

/// Salt's `user.info` from passwd and group file contents; `{}` for no such user.
pub fn user_info_from(name: &str, passwd: &str, group: &str) -> Value {
    let Some(fields) = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 7 && f[0] == name)
    else {
        return Value::Object(Map::new());
    };
    let gid: i64 = fields[3].parse().unwrap_or(0);
    let mut groups: Vec<String> = Vec::new();
    for g in group
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|g| g.len() >= 4)
    {
        let members = g[3].split(',').any(|m| m == name);
        if members || g[2].parse::<i64>().ok() == Some(gid) {
            groups.push(g[0].to_string());
        }
    }
    groups.sort();
    groups.dedup();
    let gecos: Vec<&str> = fields[4].split(',').collect();
    let gecos_at = |i: usize| gecos.get(i).copied().unwrap_or("");
    json!({
        "name": fields[0],
        "passwd": fields[1],
        "uid": fields[2].parse::<i64>().unwrap_or(0),
        "gid": gid,
        "home": fields[5],
        "shell": fields[6],
        "fullname": gecos_at(0),
        "roomnumber": gecos_at(1),
        "workphone": gecos_at(2),
        "homephone": gecos_at(3),
        "other": gecos.get(4..).map(|r| r.join(",")).unwrap_or_default(),
        "groups": groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_reads_passwd_and_groups() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000:Bob B,1,2,3:/home/bob:/bin/sh\n";
        let group = "root:x:0:\nbob:x:1000:\nsudo:x:27:bob\n";
        let bob = user_info_from("bob", passwd, group);
        assert_eq!(bob["uid"], 1000);
        assert_eq!(bob["fullname"], "Bob B");
        assert_eq!(bob["groups"], json!(["bob", "sudo"]));
        assert_eq!(user_info_from("nobody", passwd, group), json!({}));
    }

    #[test]
    fn has_exec_searches_path() {
        assert!(LocalProbe.has_exec("sh").unwrap());
        assert!(LocalProbe.has_exec("/bin/sh").unwrap());
        assert!(!LocalProbe.has_exec("no-such-brine-command").unwrap());
    }

    #[test]
    fn shlex_split_matches_python() {
        assert_eq!(
            shlex_split("echo 'a b' \"c \\\"d\" e\\ f").unwrap(),
            vec!["echo", "a b", "c \"d", "e f"]
        );
        assert_eq!(shlex_split("a ''").unwrap(), vec!["a", ""]);
        assert_eq!(shlex_split("'open"), None);
    }

    #[test]
    fn cmd_runs_through_the_shell_unless_told_not_to() {
        let out = LocalProbe
            .cmd("echo a | tr a b", &CmdOptions::default())
            .unwrap();
        assert_eq!(out.stdout, "b\n");
        let opts = CmdOptions {
            no_shell: true,
            ..Default::default()
        };
        let out = LocalProbe.cmd("echo a | tr a b", &opts).unwrap();
        assert_eq!(out.stdout, "a | tr a b\n");
    }
}
