//! `master fileserver update|status`: the git remotes the state tree and
//! pillar come from, the commit each saltenv is pinned to, the last fetch
//! and its error.
use transport::wire::OpRequest;

use super::{print_value, request, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct FileserverArgs {
    #[command(subcommand)]
    pub op: FileserverCmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum FileserverCmd {
    /// Fetch every git remote now and pin what it serves.
    Update,
    /// Each git remote: its saltenvs' pinned commits, last fetch, last error.
    Status,
}

/// `update` exits 1 when a remote could not be fetched (it keeps serving
/// its last good commits).
pub async fn run(a: FileserverArgs, client: &ClientOpts, out: Out) -> anyhow::Result<i32> {
    let req = match a.op {
        FileserverCmd::Update => OpRequest::FileserverUpdate,
        FileserverCmd::Status => OpRequest::FileserverStatus,
    };
    let v = request(client, req).await?;
    print_value(out, &v)?;
    Ok(i32::from(
        v.get("updated") == Some(&serde_json::Value::Bool(false)),
    ))
}
