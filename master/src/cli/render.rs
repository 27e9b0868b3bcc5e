//! `master render MINION_ID [SLS...]`: the low chunks that minion would get.
use transport::wire::OpRequest;

use super::{print_value, request, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    pub minion: String,
    pub sls: Vec<String>,
    #[command(flatten)]
    pub client: ClientOpts,
    #[arg(long, value_enum, default_value = "yaml")]
    pub out: Out,
}

pub async fn run(a: RenderArgs) -> anyhow::Result<i32> {
    let v = request(
        &a.client,
        OpRequest::Render {
            minion: a.minion,
            sls: a.sls,
        },
    )
    .await?;
    print_value(a.out, &v)?;
    Ok(0)
}
