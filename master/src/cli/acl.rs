//! `master acl show|set FILE`: the operator ACL. With `key_store: postgres`
//! it lives in PostgreSQL, shared by every master, and `set` replaces it on
//! all of them at once; with key files it is the master config's `acl`.
use std::path::PathBuf;

use common::data::Value;
use transport::wire::OpRequest;

use super::{print_value, request, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct AclArgs {
    #[command(subcommand)]
    pub op: AclCmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum AclCmd {
    /// The ACL the master applies, and where it lives (config or postgres).
    Show,
    /// Replace the shared ACL (key_store: postgres) with FILE's: YAML of
    /// what the config's `acl` key takes (or a file with that `acl` key).
    Set { file: PathBuf },
}

/// The ACL value in a file: the map itself, or a map whose only key is `acl`.
fn acl_in(file: &std::path::Path) -> anyhow::Result<Value> {
    let v = common::config::read_yaml(file, true)?.unwrap_or(Value::Null);
    Ok(match v {
        Value::Object(mut m) if m.len() == 1 && m.contains_key("acl") => {
            m.remove("acl").unwrap_or(Value::Null)
        }
        v => v,
    })
}

pub async fn run(a: AclArgs, client: &ClientOpts, out: Out) -> anyhow::Result<i32> {
    let req = match a.op {
        AclCmd::Show => OpRequest::AclShow,
        AclCmd::Set { file } => {
            let acl = acl_in(&file)?;
            // Checked here too, so a typo names the file rather than the request.
            crate::config::parse_acl(&file, &acl)?;
            OpRequest::AclSet {
                acl: serde_json::to_string(&acl)?,
            }
        }
    };
    let v = request(client, req).await?;
    print_value(out, &v)?;
    Ok(0)
}
