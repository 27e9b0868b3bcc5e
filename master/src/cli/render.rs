//! `master render MINION_ID [SLS...] [saltenv=ENV] [pillarenv=ENV]`: the low
//! chunks that minion would get.
use transport::wire::OpRequest;

use super::env_opts::EnvOpts;
use super::{print_value, request, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    pub minion: String,
    /// SLS names (without any, the highstate), and Salt's `saltenv=ENV`
    /// and `pillarenv=ENV`.
    pub sls: Vec<String>,
    #[command(flatten)]
    pub env: EnvOpts,
}

pub async fn run(a: RenderArgs, client: &ClientOpts, out: Out) -> anyhow::Result<i32> {
    let (job, sls) = a.env.job_env(&a.sls)?;
    if job.pillar.is_some() {
        anyhow::bail!("`master render` takes no pillar=: it shows what a job without one gets");
    }
    let v = request(
        client,
        OpRequest::Render {
            minion: a.minion,
            sls,
            saltenv: job.saltenv,
            pillarenv: job.pillarenv,
        },
    )
    .await?;
    print_value(out, &v)?;
    Ok(0)
}
