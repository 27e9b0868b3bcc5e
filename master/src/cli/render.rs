//! `master render MINION_ID [SLS...]`: the low chunks that minion would get.
use transport::wire::OpRequest;

use super::{print_value, request, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    pub minion: String,
    pub sls: Vec<String>,
}

pub async fn run(a: RenderArgs, client: &ClientOpts, out: Out) -> anyhow::Result<i32> {
    let v = request(
        client,
        OpRequest::Render {
            minion: a.minion,
            sls: a.sls,
        },
    )
    .await?;
    print_value(out, &v)?;
    Ok(0)
}
