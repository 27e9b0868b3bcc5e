//! `minion apply --local [SLS ...] [--test]`: the equivalent of
//! `salt-call --local state.apply`; without `--local`, through the master
//! (`apply_remote`), printed and exiting alike.
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use common::data::Value;
use states::compile::Compiled;
use states::remote::RemoteFiles;
use states::run::{Report, Runner};
use states::state::{HostRead, LocalSources};

use super::output::{print_local, Out, OutFormat};
use crate::daemon::DEFAULT_CACHEDIR;
use crate::local::{JobOpts, LocalInputs, LocalOpts};
use states::ci_report::{self, MinionOutcome, Outcome, ReportOptions};
use states::highstate_out::{self, StateOutput};

/// What `--out` can be for apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOut {
    /// Salt's highstate blocks and summary (the default).
    Highstate,
    Json,
    Yaml,
    Junit,
    Markdown,
}

impl ApplyOut {
    pub fn of(out: Option<Out>) -> anyhow::Result<ApplyOut> {
        Ok(match out {
            None | Some(Out::Highstate) => ApplyOut::Highstate,
            Some(Out::Json) => ApplyOut::Json,
            Some(Out::Yaml) => ApplyOut::Yaml,
            Some(Out::Junit) => ApplyOut::Junit,
            Some(Out::Markdown) => ApplyOut::Markdown,
            Some(Out::Nested) => anyhow::bail!(
                "`minion apply` cannot print --out nested: it prints highstate, json, yaml, junit or markdown"
            ),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Apply on this host with no master (without it: ask the master for
    /// this minion's states, as `salt-call state.apply`).
    #[arg(long)]
    pub local: bool,
    /// Dry run: report what would change (result None) and change nothing.
    #[arg(long)]
    pub test: bool,
    /// SLS names to apply (without any, the highstate from top.sls), and
    /// Salt's `saltenv=ENV`, `pillarenv=ENV`, `pillar='{"k": "v"}'`.
    pub sls: Vec<String>,
    #[command(flatten)]
    pub job: JobOpts,
    #[arg(long = "state-output", value_enum, default_value = "full")]
    pub state_output: StateOutput,
    /// Exit 4 when states changed something (or, with --test, would) and
    /// none failed; 0 only when nothing changed. 1 and 2 as without it.
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
    /// With --out junit or markdown: a change (or, with --test, a pending
    /// one) is reported as a failure holding its diff.
    #[arg(long = "fail-on-change")]
    pub fail_on_change: bool,
    /// Apply under this directory instead of `/` (tests, throwaway roots).
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

/// Exit status: 0 all succeeded, 2 a state failed, 1 could not run; with
/// `--detailed-exitcode`, 4 when something changed or would.
pub fn run(a: ApplyArgs, opts: &LocalOpts, out: ApplyOut) -> anyhow::Result<i32> {
    let (job, sls) = a.job.job(&a.sls)?;
    if !a.local {
        return super::apply_remote::run(&a, job, sls, opts, out);
    }
    let inputs = LocalInputs::load(opts)?;
    let trees = inputs.trees();
    let minion = inputs.minion();
    let Compiled {
        pillar,
        chunks,
        secrets,
        no_states,
    } = match trees.compile_job(&minion, &sls, &job) {
        Ok(c) => c,
        Err(errors) => {
            let list: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
            return Ok(report_errors(&list, out, &a));
        }
    };
    let session = Arc::new(trees.session(&minion, &pillar));
    // Downloads (http(s) sources) are cached where the daemon caches files.
    let cachedir = inputs
        .opts
        .get("cachedir")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_CACHEDIR);
    let sources = LocalSources::with_saltenvs(trees.states.saltenvs().clone(), session)
        .with_remote(RemoteFiles::new(PathBuf::from(cachedir).join("files")));
    let root = a.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let host = HostRead::new(root, Arc::new(sources)).with_pillar(pillar.clone());
    let report = match no_states {
        Some(why) => why.report(),
        None => Runner::new(host, a.test).run(chunks),
    };
    // What gpg decrypted is shown as `<secret PATH>`, as the master does.
    let hide = |mut v: Value| {
        common::render::hide_secrets(&mut v, &secrets);
        v
    };
    print_report(&report, out, &a, hide)
}

/// Prints a state run's report as `--out` asks; its exit status.
pub(super) fn print_report(
    report: &Report,
    out: ApplyOut,
    a: &ApplyArgs,
    hide: impl Fn(Value) -> Value,
) -> anyhow::Result<i32> {
    match out {
        ApplyOut::Highstate => {
            let color = std::io::stdout().is_terminal();
            let text = highstate_out::render("local", report, a.state_output, color);
            match hide(Value::String(text)) {
                Value::String(text) => print!("{text}"),
                _ => unreachable!("a string stays a string"),
            }
        }
        ApplyOut::Json => print_local(OutFormat::Json, &hide(report.to_json()))?,
        ApplyOut::Yaml => print_local(OutFormat::Yaml, &hide(report.to_json()))?,
        ApplyOut::Junit | ApplyOut::Markdown => {
            let text = ci_text(out, a, vec![Outcome::States(report.clone())]);
            match hide(Value::String(text)) {
                Value::String(text) => print!("{text}"),
                _ => unreachable!("a string stays a string"),
            }
        }
    }
    let status = if report.failed() > 0 { 2 } else { 0 };
    Ok(if a.detailed_exitcode {
        states::run::detailed_exit_status(status, report.changed_or_pending())
    } else {
        status
    })
}

/// The tree did not compile: the errors, and exit status 1.
pub(super) fn report_errors(errors: &[String], out: ApplyOut, a: &ApplyArgs) -> i32 {
    for e in errors {
        eprintln!("error: {e}\n");
    }
    eprintln!("{} error(s); nothing was applied", errors.len());
    if matches!(out, ApplyOut::Junit | ApplyOut::Markdown) {
        print!(
            "{}",
            ci_text(out, a, vec![Outcome::Errors(errors.to_vec())])
        );
    }
    if out == ApplyOut::Json {
        let list = errors.iter().map(|e| Value::String(e.clone())).collect();
        let _ = print_local(OutFormat::Json, &Value::Array(list));
    }
    1
}

/// `--out junit|markdown` of this host's run, as `local`.
fn ci_text(out: ApplyOut, a: &ApplyArgs, outcomes: Vec<Outcome>) -> String {
    let minions: Vec<MinionOutcome> = outcomes
        .into_iter()
        .map(|outcome| MinionOutcome {
            id: "local".into(),
            outcome,
        })
        .collect();
    let opts = ReportOptions {
        test: a.test,
        fail_on_change: a.fail_on_change,
    };
    if out == ApplyOut::Junit {
        ci_report::junit(&minions, opts)
    } else {
        let title = match (a.local, a.test) {
            (true, true) => "minion apply --local --test",
            (true, false) => "minion apply --local",
            (false, true) => "minion apply --test",
            (false, false) => "minion apply",
        };
        ci_report::markdown(title, &minions, opts)
    }
}
