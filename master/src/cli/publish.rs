//! `master apply` and `master run`: publish a job, show progress while
//! minions answer, then each minion's output and the fleet summary.
//! Exit status: 0 all good, 2 a state or function failed, 1 could not run,
//! 3 a targeted minion did not return. When the master is lost mid-job, what
//! returned so far is printed and the exit status is 1.
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::{bail, Result};
use common::data::{Map, Value};
use common::target::TargetKind;
use states::highstate_out::{self, StateOutput};
use states::run::Report;
use transport::wire::{Batch, Jid, JobReturn, OpReply, OpRequest, Publish, PublishWhat};

use super::{client, ClientOpts, Out};

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
    #[command(flatten)]
    pub client: ClientOpts,
    #[arg(long, value_enum, default_value = "highstate")]
    pub out: Out,
    #[arg(long = "state-output", value_enum, default_value = "full")]
    pub state_output: StateOutput,
}

impl TargetOpts {
    fn tgt_type(&self) -> TargetKind {
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

    fn batch(&self) -> Result<Option<Batch>> {
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
    pub target: String,
    /// SLS names; without any, the highstate from top.sls.
    pub sls: Vec<String>,
    /// Dry run: report what would change; nothing changes on any minion.
    #[arg(long)]
    pub test: bool,
    #[command(flatten)]
    pub opts: TargetOpts,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    pub target: String,
    /// `test.ping`, `cmd.run`, `grains.items`, `state.apply`, ...
    pub function: String,
    /// Positional arguments, and `key=value` keyword arguments.
    pub args: Vec<String>,
    #[command(flatten)]
    pub opts: TargetOpts,
}

pub async fn apply(a: ApplyArgs) -> Result<i32> {
    let what = PublishWhat::Apply {
        sls: a.sls.clone(),
        test: a.test,
    };
    publish(&a.target, what, &a.opts, true).await
}

pub async fn run(a: RunArgs) -> Result<i32> {
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
    let is_state = states::exec::lookup(&a.function).is_ok_and(|f| f.state_report);
    let what = PublishWhat::Run {
        fun: a.function.clone(),
        args,
        kwargs,
    };
    publish(&a.target, what, &a.opts, is_state).await
}

/// `key=value` values read as Salt reads them on its command line (YAML).
fn yaml_scalar(v: &str) -> Value {
    common::yaml::load(v).unwrap_or_else(|_| Value::String(v.to_string()))
}

async fn publish(target: &str, what: PublishWhat, o: &TargetOpts, states: bool) -> Result<i32> {
    let p = Publish {
        target: target.to_string(),
        tgt_type: o.tgt_type(),
        what,
        timeout_secs: o.timeout.unwrap_or(0),
        batch: o.batch()?,
    };
    let mut link = client::connect(&o.client).await?;
    link.tx.send(&OpRequest::Publish(p)).await?;
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut jid: Option<Jid> = None;
    let mut expected: Vec<String> = Vec::new();
    let mut returns: BTreeMap<String, JobReturn> = BTreeMap::new();
    // The master speaks at least every KEEPALIVE while a job runs, and so
    // do we: it closes sessions that stay silent, however long the job.
    let silence = crate::daemon::KEEPALIVE * 5;
    let mut last_heard = Instant::now();
    let mut keepalive = tokio::time::interval(crate::daemon::KEEPALIVE);
    let ended = loop {
        let reply = tokio::select! {
            r = link.rx.recv::<OpReply>() => match r {
                Ok(reply) => reply,
                Err(e) => break Ended::Lost(e.to_string()),
            },
            _ = keepalive.tick() => {
                if last_heard.elapsed() > silence {
                    break Ended::Lost(format!("nothing heard for {silence:?}"));
                }
                if let Err(e) = link.tx.send(&OpRequest::Ping).await {
                    break Ended::Lost(e.to_string());
                }
                continue;
            }
        };
        last_heard = Instant::now();
        match reply {
            OpReply::Expected { jid: j, minions } => {
                tracing::info!(jid = %j, minions = minions.len(), "job published");
                jid = Some(j);
                expected = minions;
            }
            OpReply::Returned { minion, ret } => {
                returns.insert(minion, ret);
            }
            OpReply::Done { jid: j, missing } => {
                jid = Some(j);
                break Ended::Done { missing };
            }
            OpReply::Reply(Err(e)) => bail!(e),
            OpReply::Reply(Ok(_)) | OpReply::Admission(_) | OpReply::Waiting { .. } => {}
        }
        if tty {
            eprint!(
                "\r{}/{} returned, {:.1}s",
                returns.len(),
                expected.len(),
                started.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
        }
    };
    if tty {
        eprint!("\r\x1b[K");
    }
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
        return Ok(1);
    }
    let missing_text = match &lost {
        None => "Minion did not return. [No response]".to_string(),
        Some(_) => {
            format!("Not returned when the operator lost the master; see `master jobs show {jid}`")
        }
    };
    let failed = returns.values().filter(|r| !r.success).count();
    match o.out {
        Out::Json | Out::Yaml => {
            let mut all = Map::new();
            for (id, r) in &returns {
                all.insert(id.clone(), r.ret.clone());
            }
            for id in &missing {
                all.insert(id.clone(), Value::String(missing_text.clone()));
            }
            super::print_value(o.out, &Value::Object(all))?;
        }
        Out::Highstate => {
            let color = std::io::stdout().is_terminal();
            let mut out = String::new();
            let mut changed = 0;
            for (id, r) in &returns {
                match Report::from_json(&r.ret).filter(|_| states) {
                    Some(report) => {
                        if report.changed() > 0 {
                            changed += 1;
                        }
                        out.push_str(&highstate_out::render(id, &report, o.state_output, color));
                    }
                    None => {
                        out.push_str(&format!("{id}:\n"));
                        for line in nested_text(&r.ret).lines() {
                            out.push_str(&format!("    {line}\n"));
                        }
                    }
                }
            }
            for id in &missing {
                out.push_str(&format!("{id}:\n    {missing_text}\n"));
            }
            let not_returned = if lost.is_some() {
                "not returned yet"
            } else {
                "did not return"
            };
            out.push_str(&format!(
                "\nJob {jid}: {} minion(s) targeted: {} succeeded, {} failed, {} changed, {} {not_returned}\n",
                expected.len(),
                returns.len() - failed,
                failed,
                changed,
                missing.len()
            ));
            super::write_stdout(&out)?;
        }
    }
    if let Some(why) = lost {
        eprintln!(
            "error: lost the master during job {jid} ({why}): {} of {} minion(s) had returned. \
             The others keep their results until the master is back; then \
             `master jobs show {jid}` has them.",
            returns.len(),
            expected.len()
        );
        return Ok(1);
    }
    Ok(if !missing.is_empty() {
        3
    } else if returns.values().any(|r| r.retcode == 1) {
        // A minion's tree did not compile, or a function could not run.
        1
    } else if failed > 0 {
        2
    } else {
        0
    })
}

/// How the wait for a job's returns ended.
enum Ended {
    /// The master said the job is over; these did not return by its deadline.
    Done { missing: Vec<String> },
    /// The master went silent or the link broke.
    Lost(String),
}

fn nested_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => {
            if *b {
                "True".into()
            } else {
                "False".into()
            }
        }
        other => common::yaml::dump_block(other),
    }
}
