//! `master render MINION_ID [SLS...] [saltenv=ENV] [pillarenv=ENV]`: the low
//! chunks that minion would get.
use states::compile::JobEnv;
use transport::wire::OpRequest;

use super::{print_value, request, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    pub minion: String,
    /// SLS names (without any, the highstate), and Salt's `saltenv=ENV`
    /// and `pillarenv=ENV`.
    pub sls: Vec<String>,
    /// Salt environment to compile from (Salt's `saltenv=ENV`).
    #[arg(long, value_name = "ENV")]
    pub saltenv: Option<String>,
    /// Pillar environment to compile the pillar from (Salt's `pillarenv=ENV`).
    #[arg(long, value_name = "ENV")]
    pub pillarenv: Option<String>,
}

pub async fn run(a: RenderArgs, client: &ClientOpts, out: Out) -> anyhow::Result<i32> {
    let (mut job, sls) = JobEnv::from_cli_words(&a.sls)?;
    job.set_saltenv(a.saltenv.as_deref())?;
    job.set_pillarenv(a.pillarenv.as_deref())?;
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
