//! `master secrets who KEY:PATH`: which accepted minions' pillar holds that
//! key (never its value), compiled from their cached grains.
use common::data::Value;
use transport::wire::OpRequest;

use super::{print_value, request, write_stdout, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub command: SecretsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// Which minions' pillar holds KEY:PATH (colon-delimited, as pillar.get).
    Who { path: String },
}

/// Exit status 0 when every minion's pillar compiled, 1 otherwise.
pub async fn run(a: SecretsArgs, client: &ClientOpts, out: Out) -> anyhow::Result<i32> {
    let SecretsCommand::Who { path } = a.command;
    let v = request(client, OpRequest::SecretsWho { path: path.clone() }).await?;
    let failed = v
        .as_object()
        .is_some_and(|m| m.values().any(|r| r.get("error").is_some()));
    match out {
        Out::Json | Out::Yaml | Out::Junit | Out::Markdown => print_value(out, &v)?,
        Out::Highstate => write_stdout(&human(&path, &v))?,
    }
    Ok(i32::from(failed))
}

/// One line per minion, then a count.
fn human(path: &str, v: &Value) -> String {
    let mut text = String::new();
    let (mut holds, mut total, mut errors) = (0, 0, 0);
    for (id, r) in v.as_object().into_iter().flatten() {
        total += 1;
        let line = match (r.get("holds").and_then(Value::as_bool), r.get("error")) {
            (Some(true), _) => {
                holds += 1;
                "yes".to_string()
            }
            (Some(false), _) => "no".to_string(),
            (None, e) => {
                errors += 1;
                let e = e.and_then(Value::as_str).unwrap_or("unknown error");
                format!(
                    "ERROR, pillar did not compile:\n    {}",
                    e.replace('\n', "\n    ")
                )
            }
        };
        text.push_str(&format!("{id}: {line}\n"));
    }
    text.push_str(&format!(
        "\n{holds} of {total} minions' pillar holds {path}"
    ));
    if errors > 0 {
        text.push_str(&format!("; {errors} could not be compiled"));
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_listed_never_counted_as_no() {
        let v = serde_json::json!({
            "db1": {"holds": true},
            "web1": {"holds": false},
            "web2": {"error": "pillar/top.sls: boom"},
        });
        assert_eq!(
            human("db:password", &v),
            "db1: yes\nweb1: no\nweb2: ERROR, pillar did not compile:\n    pillar/top.sls: boom\n\
             \n1 of 3 minions' pillar holds db:password; 1 could not be compiled\n"
        );
    }
}
