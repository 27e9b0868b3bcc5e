//! `master drift [TARGET]`: which minions' last scheduled dry run found
//! pending changes (exit 4 when any did), which are stale, which never
//! reported one.
use common::target::TargetKind;
use transport::wire::OpRequest;

use super::{print_value, request, write_stdout, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    /// Minions to report on (default: every minion).
    #[arg(default_value = "*")]
    pub target: String,
    /// How TARGET is matched, by Salt's name: glob, pcre, list, grain,
    /// pillar, ipcidr, compound, nodegroup.
    #[arg(long = "tgt-type", default_value = "glob", value_parser = tgt_type)]
    pub tgt_type: TargetKind,
}

fn tgt_type(name: &str) -> Result<TargetKind, String> {
    TargetKind::from_salt_name(name).ok_or_else(|| format!("unknown target type {name:?}"))
}

/// Exit status: 4 when a minion drifted, 0 otherwise (1: could not ask).
pub async fn run(a: DriftArgs, client: &ClientOpts, out: Out) -> anyhow::Result<i32> {
    let v = request(
        client,
        OpRequest::Drift {
            target: a.target,
            tgt_type: a.tgt_type,
        },
    )
    .await?;
    let minions = v.as_object().cloned().unwrap_or_default();
    let drifted = minions.values().any(|m| m["drifted"] == true);
    match out {
        Out::Highstate => write_stdout(&text(&minions))?,
        other => print_value(other, &v)?,
    }
    Ok(if drifted { 4 } else { 0 })
}

/// One line per minion, then its pending states.
fn text(minions: &common::data::Map<String, common::data::Value>) -> String {
    let mut out = String::new();
    for (id, m) in minions {
        let status = m["status"].as_str().unwrap_or("?");
        out.push_str(&format!("{id}: {status}"));
        if let Some(jid) = m["jid"].as_str() {
            out.push_str(&format!(" (last scheduled run: job {jid})"));
        }
        out.push('\n');
        for s in m["states"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "    {} {} ({})\n",
                s["state"].as_str().unwrap_or(""),
                s["id"].as_str().unwrap_or(""),
                s["name"].as_str().unwrap_or("")
            ));
        }
    }
    let drifted = minions.values().filter(|m| m["drifted"] == true).count();
    out.push_str(&format!(
        "\n{} minion(s): {drifted} drifted\n",
        minions.len()
    ));
    out
}
