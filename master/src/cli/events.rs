//! `master events [--tag GLOB]`: the master's event stream (Salt's
//! `salt-run state.event`), one event a line until interrupted: `--out json`
//! prints `{"tag": ..., "data": {...}}`, the default Salt's `pretty=False`
//! form, `TAG<tab>DATA-AS-JSON`.
use anyhow::{bail, Result};
use transport::wire::{Event, OpReply, OpRequest};

use super::{client, write_stdout, ClientOpts, Out};

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// Only events whose tag matches this glob (`salt/job/*/ret/*`).
    #[arg(long, value_name = "GLOB")]
    pub tag: Option<String>,
    /// Events the master holds for this command while it is slow to read
    /// (default 10000, at most 100000); past that they are dropped, and a
    /// `brine/events/dropped` event says how many.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub queue: u32,
    /// Exit after printing this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// Exit status 0 when `--count` events were printed or stdout was closed;
/// an error when the master refuses or is lost.
pub async fn run(a: EventsArgs, opts: &ClientOpts, out: Out) -> Result<i32> {
    let mut link = client::connect(opts).await?;
    let ask = OpRequest::Events {
        tag: a.tag,
        queue: a.queue,
    };
    link.tx.send(&ask).await?;
    // The master answers every request within its keepalive, events or not.
    let silence = crate::daemon::KEEPALIVE * 5;
    let mut printed = 0u64;
    let mut subscribed = false;
    loop {
        let reply = match tokio::time::timeout(silence, link.rx.recv::<OpReply>()).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => bail!("lost the master: {e}"),
            Err(_) => bail!("lost the master: nothing heard for {silence:?}"),
        };
        let batch = match reply {
            OpReply::Events(batch) => batch,
            OpReply::Reply(Err(e)) => bail!(e),
            _ => continue,
        };
        if !subscribed {
            // The master answers the first request at once: from here on
            // nothing is missed (tests wait for this line).
            tracing::info!("subscribed to the master's events");
            subscribed = true;
        }
        // Asked before printing: the master gathers the next batch meanwhile.
        link.tx.send(&ask).await?;
        for event in batch {
            if write_stdout(&line(out, &event)?).is_err() {
                return Ok(0);
            }
            printed += 1;
            if a.count.is_some_and(|n| printed >= n) {
                return Ok(0);
            }
        }
    }
}

fn line(out: Out, e: &Event) -> Result<String> {
    Ok(match out {
        Out::Json => format!(
            "{}\n",
            serde_json::to_string(&serde_json::json!({"tag": e.tag, "data": e.data}))?
        ),
        Out::Yaml => format!(
            "---\n{}",
            common::yaml::dump_block(&serde_json::json!({"tag": e.tag, "data": e.data}))
        ),
        _ => format!("{}\t{}\n", e.tag, serde_json::to_string(&e.data)?),
    })
}
