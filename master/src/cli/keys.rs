//! `master keys list|accept|reject|delete|fingerprint`.
use transport::wire::{KeysOp, OpRequest};

use super::{print_value, request, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub op: KeysCmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCmd {
    /// Accepted, pending and rejected minion ids.
    List,
    /// Accept a pending key (or all of them).
    Accept {
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Reject a key; its minion is disconnected at once.
    Reject { id: String },
    /// Forget a key; its minion is disconnected at once.
    Delete { id: String },
    /// The master's fingerprint, or a minion's.
    Fingerprint { id: Option<String> },
}

pub async fn run(a: KeysArgs, client: &ClientOpts, out: Out) -> anyhow::Result<i32> {
    let op = match a.op {
        KeysCmd::List => KeysOp::List,
        KeysCmd::Accept { id, all } => KeysOp::Accept { id, all },
        KeysCmd::Reject { id } => KeysOp::Reject { id },
        KeysCmd::Delete { id } => KeysOp::Delete { id },
        KeysCmd::Fingerprint { id } => KeysOp::Fingerprint { id },
    };
    let v = request(client, OpRequest::Keys(op)).await?;
    print_value(out, &v)?;
    Ok(0)
}
