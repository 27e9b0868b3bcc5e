//! `master apply` and `master run`: publish a job, show progress while
//! minions answer, then each minion's output and the fleet summary.
//! Exit status: 0 all good, 2 a state or function failed, 1 could not run,
//! 3 a targeted minion did not return. When the master is lost mid-job, what
//! returned so far is printed and the exit status is 1.
//!
//! `stream` waits for the returns, `render` prints them, `exit_status`
//! decides the status.
mod exit_status;
mod render;
mod stream;

use anyhow::{bail, Result};
use common::data::{Map, Value};
use common::target::TargetKind;
use states::ci_report::ReportOptions;
use states::highstate_out::StateOutput;
use transport::wire::{Batch, OpRequest, Publish, PublishWhat};

use super::env_opts::{self, EnvOpts};
use super::{client, ClientOpts, Out};
use stream::Ended;

#[derive(Debug, Clone, clap::Args)]
pub struct TargetOpts {
    /// Target is a regular expression of minion ids.
    #[arg(short = 'E', long = "pcre", group = "tgt")]
    pub pcre: bool,
    /// Target is a comma-separated list of ids.
    #[arg(short = 'L', long = "list", group = "tgt")]
    pub list: bool,
    /// Target is a grain `key:glob` (nested keys with `:`).
    #[arg(short = 'G', long = "grain", group = "tgt")]
    pub grain: bool,
    /// Target is a pillar `key:glob`.
    #[arg(short = 'I', long = "pillar", group = "tgt")]
    pub pillar: bool,
    /// Target is an IP address or subnet.
    #[arg(short = 'S', long = "ipcidr", group = "tgt")]
    pub ipcidr: bool,
    /// Target is a compound expression (`G@os:Debian and web*`).
    #[arg(short = 'C', long = "compound", group = "tgt")]
    pub compound: bool,
    /// Target is a nodegroup from the master config.
    #[arg(short = 'N', long = "nodegroup", group = "tgt")]
    pub nodegroup: bool,
    /// Seconds to wait for returns (default: the master's `timeout`).
    #[arg(long, short = 't', value_name = "S")]
    pub timeout: Option<u64>,
    /// Run the fleet in waves of N minions, or N% of them.
    #[arg(long = "batch-size", short = 'b', value_name = "N|N%")]
    pub batch_size: Option<String>,
    #[arg(long = "state-output", value_enum, default_value = "full")]
    pub state_output: StateOutput,
}

impl TargetOpts {
    pub(crate) fn tgt_type(&self) -> TargetKind {
        match () {
            _ if self.pcre => TargetKind::Pcre,
            _ if self.list => TargetKind::List,
            _ if self.grain => TargetKind::Grain,
            _ if self.pillar => TargetKind::Pillar,
            _ if self.ipcidr => TargetKind::Ipcidr,
            _ if self.compound => TargetKind::Compound,
            _ if self.nodegroup => TargetKind::Nodegroup,
            _ => TargetKind::Glob,
        }
    }

    pub(crate) fn batch(&self) -> Result<Option<Batch>> {
        let Some(b) = &self.batch_size else {
            return Ok(None);
        };
        let bad = || anyhow::anyhow!("--batch-size takes N or N%, not {b:?}");
        Ok(Some(match b.strip_suffix('%') {
            Some(p) => {
                let p: u8 = p.parse().map_err(|_| bad())?;
                if p == 0 || p > 100 {
                    return Err(bad());
                }
                Batch::Percent(p)
            }
            None => Batch::Count(b.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(bad)?),
        }))
    }
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    #[arg(required_unless_present = "plan")]
    pub target: Option<String>,
    /// SLS names (without any, the highstate from top.sls), and Salt's
    /// `saltenv=ENV`, `pillarenv=ENV` and `pillar='{"key": "value"}'`.
    pub sls: Vec<String>,
    /// Dry run: report what would change; nothing changes on any minion.
    #[arg(long)]
    pub test: bool,
    /// Exit 4 when states changed something (or, with --test, would) and
    /// every minion returned without a failure; 0 only when nothing changed.
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
    /// With --out junit or markdown: a change (or, with --test, a pending
    /// one) is reported as a failure holding its diff.
    #[arg(long = "fail-on-change")]
    pub fail_on_change: bool,
    #[command(flatten)]
    pub env: EnvOpts,
    #[command(flatten)]
    pub opts: TargetOpts,
    /// A plan saved by `master plan --save`: exactly its chunks on exactly
    /// its minions (no TARGET or SLS), refused before anything is published
    /// if a minion's grains or pillar, or the tree, changed since.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<std::path::PathBuf>,
    /// With --plan: the checkout the plan was made from (its digest must match).
    #[arg(long, value_name = "DIR", requires = "plan")]
    pub tree: Option<std::path::PathBuf>,
    /// With --plan: the gitfs revision the plan was made at (`master plan
    /// --rev`); its tree now must be the one planned.
    #[arg(long, value_name = "REV", requires = "plan", conflicts_with = "tree")]
    pub rev: Option<String>,
    /// With --plan: the pillar tree the plan was made with, if any.
    #[arg(long = "pillar-tree", value_name = "DIR", requires = "plan")]
    pub pillar_tree: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    pub target: String,
    /// `test.ping`, `cmd.run`, `grains.items`, `state.apply`, ...
    pub function: String,
    /// Positional arguments, and `key=value` keyword arguments.
    pub args: Vec<String>,
    /// For `state.*`: the same as `saltenv=ENV` and `pillarenv=ENV`.
    #[command(flatten)]
    pub env: EnvOpts,
    #[command(flatten)]
    pub opts: TargetOpts,
}

pub async fn apply(a: ApplyArgs, client: &ClientOpts, out: Out) -> Result<i32> {
    let report = ReportOptions {
        test: a.test,
        fail_on_change: a.fail_on_change,
    };
    let status = match (&a.plan, &a.target) {
        (Some(file), None) => {
            if !a.sls.is_empty() || a.env.saltenv.is_some() || a.env.pillarenv.is_some() {
                bail!("--plan applies the plan's own SLS and environments: give none");
            }
            let candidate = match (a.tree.as_deref(), a.rev.as_deref()) {
                (Some(dir), None) => super::plan::Candidate::Checkout(dir),
                (None, Some(rev)) => super::plan::Candidate::Rev(rev),
                _ => bail!("--plan needs the --tree DIR or --rev REV the plan was made from"),
            };
            let req = super::plan::apply_request(
                file,
                candidate,
                a.pillar_tree.as_deref(),
                a.test,
                &a.opts,
            )?;
            let req = OpRequest::ApplyPlan(Box::new(req));
            send_and_report(req, &a.opts, client, out, true, report).await?
        }
        (Some(_), Some(_)) => bail!("--plan applies to the plan's own minions: give no TARGET"),
        (None, target) => {
            // Refused here, before anything is published.
            let target = target
                .as_deref()
                .expect("clap requires TARGET without --plan");
            let (env, sls) = a.env.job_env(&a.sls)?;
            let what = PublishWhat::Apply {
                sls,
                test: a.test,
                env: env_opts::to_wire(&env)?,
            };
            publish(target, what, &a.opts, client, out, true, report).await?
        }
    };
    Ok(if a.detailed_exitcode {
        states::run::detailed_exit_status(status.code, status.changed_or_pending)
    } else {
        status.code
    })
}

pub async fn run(a: RunArgs, client: &ClientOpts, out: Out) -> Result<i32> {
    let mut args = Vec::new();
    let mut kwargs = Map::new();
    for word in &a.args {
        match word.split_once('=') {
            Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                kwargs.insert(k.to_string(), yaml_scalar(v));
            }
            _ => args.push(Value::String(word.clone())),
        }
    }
    for (key, flag) in [("saltenv", &a.env.saltenv), ("pillarenv", &a.env.pillarenv)] {
        if let Some(name) = flag {
            if kwargs.contains_key(key) {
                bail!("{key} is given twice");
            }
            kwargs.insert(key.to_string(), Value::String(name.clone()));
        }
    }
    let row = states::exec::lookup(&a.function).ok();
    // What the master answers is checked here, so a bad `pillar=` or
    // `saltenv=` publishes nothing; the minion checks its own calls.
    if row.is_some_and(|f| f.answered_by == states::exec::AnsweredBy::Master) {
        states::exec::Call::parse(&a.function, &args, &kwargs)?;
    }
    let is_state = row.is_some_and(|f| f.state_report);
    let what = PublishWhat::Run {
        fun: a.function.clone(),
        args,
        kwargs,
    };
    let report = ReportOptions::default();
    Ok(
        publish(&a.target, what, &a.opts, client, out, is_state, report)
            .await?
            .code,
    )
}

/// How a published job ended, for the exit status.
struct Finished {
    /// Salt's: 0, 1 could not run, 2 failed, 3 a minion did not return.
    code: i32,
    /// A state report among the returns changed something or would.
    changed_or_pending: bool,
}

/// `key=value` values read as Salt reads them on its command line (YAML).
fn yaml_scalar(v: &str) -> Value {
    common::yaml::load(v).unwrap_or_else(|_| Value::String(v.to_string()))
}

async fn publish(
    target: &str,
    what: PublishWhat,
    o: &TargetOpts,
    client: &ClientOpts,
    out: Out,
    states: bool,
    report: ReportOptions,
) -> Result<Finished> {
    let p = Publish {
        target: target.to_string(),
        tgt_type: o.tgt_type(),
        what,
        timeout_secs: o.timeout.unwrap_or(0),
        batch: o.batch()?,
    };
    send_and_report(OpRequest::Publish(p), o, client, out, states, report).await
}

/// Sends a publish (or a saved plan's), waits for the returns and prints them.
async fn send_and_report(
    req: OpRequest,
    o: &TargetOpts,
    client: &ClientOpts,
    out: Out,
    states: bool,
    report: ReportOptions,
) -> Result<Finished> {
    let mut link = client::connect(client).await?;
    link.tx.send(&req).await?;
    let stream::Streamed {
        jid,
        expected,
        returns,
        ended,
    } = stream::returns(&mut link).await?;
    let (missing, lost) = match ended {
        Ended::Done { missing } => (missing, None),
        // The job runs on without us: minions keep their results until the
        // master is back and records them in its job cache.
        Ended::Lost(why) => {
            let unknown = expected
                .iter()
                .filter(|id| !returns.contains_key(*id))
                .cloned()
                .collect();
            (unknown, Some(why))
        }
    };
    // `Done` names the job, so only a loss before `Expected` leaves it unnamed.
    let Some(jid) = jid else {
        bail!(
            "lost the master before it published the job: {}",
            lost.unwrap_or_default()
        );
    };
    if expected.is_empty() {
        eprintln!("No minions matched the target. No command was sent, no jid was assigned.");
        return Ok(Finished {
            code: 1,
            changed_or_pending: false,
        });
    }
    let job = render::JobOutcome {
        jid: jid.as_str(),
        expected: &expected,
        returns: &returns,
        missing: &missing,
        lost: lost.as_deref(),
    };
    let how = render::Rendering {
        out,
        state_output: o.state_output,
        states,
        report,
    };
    render::print(&job, &how)?;
    if let Some(why) = lost {
        eprintln!(
            "error: lost the master during job {jid} ({why}): {} of {} minion(s) had returned. \
             The others keep their results until the master is back; then \
             `master jobs show {jid}` has them.",
            returns.len(),
            expected.len()
        );
        return Ok(Finished {
            code: 1,
            changed_or_pending: false,
        });
    }
    Ok(Finished {
        code: exit_status::of_job(&returns, &missing),
        changed_or_pending: returns.values().any(|r| {
            states::run::Report::from_json(&r.ret).is_some_and(|rep| rep.changed_or_pending())
        }),
    })
}
