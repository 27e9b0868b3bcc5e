//! `master jobs list|show JID|active`.
use transport::wire::{Jid, OpRequest};

use super::{print_value, request, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub op: JobsCmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum JobsCmd {
    /// Recent jobs, newest first.
    List,
    /// One job: who ran what, every return, who did not return.
    Show { jid: String },
    /// Jobs still waiting for returns.
    Active,
}

pub async fn run(a: JobsArgs, client: &ClientOpts, out: Out) -> anyhow::Result<i32> {
    let req = match a.op {
        JobsCmd::List => OpRequest::JobsList,
        JobsCmd::Show { jid } => OpRequest::JobShow {
            jid: Jid::parse(&jid)?,
        },
        JobsCmd::Active => OpRequest::JobsActive,
    };
    let v = request(client, req).await?;
    print_value(out, &v)?;
    Ok(0)
}
