//! The `master` command line: the daemon and the operator commands.
mod acl;
mod client;
mod drift;
mod env_opts;
mod events;
mod fileserver;
mod jobs;
mod keys;
mod plan;
mod publish;
mod render;
mod secrets;
mod serve;

use clap::{Parser, Subcommand};

pub use client::ClientOpts;

#[derive(Debug, Parser)]
#[command(
    name = "master",
    version,
    about = "Brine master: the daemon and the operator's commands"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Every flag below is defined once here and accepted before or after
    /// the subcommand (`master --config F keys list` or
    /// `master keys list --config F`).
    #[command(flatten)]
    pub client: ClientOpts,
    /// Output format (default: `highstate`; `yaml` for `render`).
    #[arg(long, value_enum, global = true)]
    pub out: Option<Out>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Out {
    /// Salt's highstate blocks (apply) or nested output (run), then a summary.
    Highstate,
    Json,
    Yaml,
    /// JUnit XML for CI systems (`apply`).
    Junit,
    /// A Markdown summary for a pull-request comment (`apply`).
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the master daemon.
    Serve(serve::ServeArgs),
    /// Minion keys: list, accept, reject, delete, fingerprint.
    Keys(keys::KeysArgs),
    /// Apply the state tree (or named SLS) to the targeted minions.
    Apply(publish::ApplyArgs),
    /// Run an execution function on the targeted minions.
    Run(publish::RunArgs),
    /// The job cache: list, show JID, active.
    Jobs(jobs::JobsArgs),
    /// What a minion would get: its low chunks, from its cached grains.
    Render(render::RenderArgs),
    /// Secrets' reach: `secrets who KEY:PATH` lists the minions whose pillar holds it.
    Secrets(secrets::SecretsArgs),
    /// Drift: each minion's last scheduled dry run, its pending states and
    /// since when (exit 4 when any minion drifted).
    Drift(drift::DriftArgs),
    /// The state tree and pillar from git: `fileserver update`, `fileserver status`.
    Fileserver(fileserver::FileserverArgs),
    /// The master's event stream (Salt's tags), one event a line.
    Events(events::EventsArgs),
    /// What a candidate state tree (--tree DIR) would change on each
    /// targeted minion; publishes nothing. Exit 0 none, 4 changes, 2 errors.
    Plan(plan::PlanArgs),
    /// The operator ACL: `acl show`; `acl set FILE` replaces the one
    /// shared in PostgreSQL (key_store: postgres) on every master at once.
    Acl(acl::AclArgs),
}

/// Runs a parsed command line; returns the process exit status.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let Cli {
        command,
        client,
        out,
    } = cli;
    if matches!(out, Some(Out::Junit | Out::Markdown)) && !matches!(command, Command::Apply(_)) {
        anyhow::bail!("--out junit and --out markdown are reports of `master apply` only");
    }
    if let Command::Serve(a) = command {
        return serve::run(a, &client, out);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let or_highstate = out.unwrap_or(Out::Highstate);
        match command {
            Command::Serve(_) => unreachable!(),
            Command::Keys(a) => keys::run(a, &client, or_highstate).await,
            Command::Apply(a) => publish::apply(a, &client, or_highstate).await,
            Command::Run(a) => publish::run(a, &client, or_highstate).await,
            Command::Jobs(a) => jobs::run(a, &client, or_highstate).await,
            // The low chunks are data: YAML unless asked otherwise.
            Command::Render(a) => render::run(a, &client, out.unwrap_or(Out::Yaml)).await,
            Command::Secrets(a) => secrets::run(a, &client, or_highstate).await,
            Command::Drift(a) => drift::run(a, &client, or_highstate).await,
            Command::Fileserver(a) => fileserver::run(a, &client, out.unwrap_or(Out::Yaml)).await,
            Command::Events(a) => events::run(a, &client, or_highstate).await,
            Command::Plan(a) => plan::run(a, &client, or_highstate).await,
            Command::Acl(a) => acl::run(a, &client, out.unwrap_or(Out::Yaml)).await,
        }
    })
}

impl Cli {
    /// Whether this command line runs the daemon (which logs its lifecycle).
    pub fn is_serve(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }
}

/// Sends one request and waits for its single reply.
async fn request(
    opts: &ClientOpts,
    req: transport::wire::OpRequest,
) -> anyhow::Result<common::data::Value> {
    let mut link = client::connect(opts).await?;
    link.tx.send(&req).await?;
    let limit = std::time::Duration::from_secs(60);
    loop {
        let reply = tokio::time::timeout(limit, link.rx.recv::<transport::wire::OpReply>())
            .await
            .map_err(|_| anyhow::anyhow!("no answer from the master within {limit:?}"))??;
        match reply {
            transport::wire::OpReply::Reply(r) => return r.map_err(|e| anyhow::anyhow!(e)),
            _ => continue,
        }
    }
}

/// Prints a value in the chosen format (`highstate` prints YAML-ish nested).
fn print_value(out: Out, v: &common::data::Value) -> anyhow::Result<()> {
    let text = match out {
        Out::Json => format!("{}\n", serde_json::to_string_pretty(v)?),
        Out::Yaml | Out::Highstate => common::yaml::dump_block(v),
        Out::Junit | Out::Markdown => {
            anyhow::bail!("--out junit and --out markdown are reports of `master apply` only")
        }
    };
    write_stdout(&text)
}

/// Writes to stdout, returning a closed pipe as an error instead of
/// panicking as `print!` does.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
