//! Waiting for a job's returns: the loop that reads the master's `OpReply`s,
//! shows progress on a terminal, and keeps the operator's session alive
//! however long the job runs.
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::{bail, Result};
use transport::link::Link;
use transport::wire::{Jid, JobReturn, OpReply, OpRequest};

/// How the wait for a job's returns ended.
pub enum Ended {
    /// The master said the job is over; these did not return by its deadline.
    Done { missing: Vec<String> },
    /// The master went silent or the link broke.
    Lost(String),
}

/// What the master told us about a job, until it ended or was lost.
pub struct Streamed {
    /// `None` only when the master was lost before it published the job.
    pub jid: Option<Jid>,
    pub expected: Vec<String>,
    pub returns: BTreeMap<String, JobReturn>,
    pub ended: Ended,
}

/// Reads replies to a sent publish until the job is done or the master is
/// lost. An error the master answers instead of publishing is returned.
pub async fn returns(link: &mut Link) -> Result<Streamed> {
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut jid: Option<Jid> = None;
    let mut expected: Vec<String> = Vec::new();
    let mut returns: BTreeMap<String, JobReturn> = BTreeMap::new();
    // The master speaks at least every KEEPALIVE while a job runs, and so
    // do we: it closes sessions that stay silent, however long the job.
    let silence = crate::daemon::KEEPALIVE * 5;
    let mut last_heard = Instant::now();
    let mut keepalive = tokio::time::interval(crate::daemon::KEEPALIVE);
    let ended = loop {
        let reply = tokio::select! {
            r = link.rx.recv::<OpReply>() => match r {
                Ok(reply) => reply,
                Err(e) => break Ended::Lost(e.to_string()),
            },
            _ = keepalive.tick() => {
                if last_heard.elapsed() > silence {
                    break Ended::Lost(format!("nothing heard for {silence:?}"));
                }
                if let Err(e) = link.tx.send(&OpRequest::Ping).await {
                    break Ended::Lost(e.to_string());
                }
                continue;
            }
        };
        last_heard = Instant::now();
        match reply {
            OpReply::Expected { jid: j, minions } => {
                tracing::info!(jid = %j, minions = minions.len(), "job published");
                jid = Some(j);
                expected = minions;
            }
            OpReply::Returned { minion, ret } => {
                returns.insert(minion, ret);
            }
            OpReply::Done { jid: j, missing } => {
                jid = Some(j);
                break Ended::Done { missing };
            }
            OpReply::Reply(Err(e)) => bail!(e),
            OpReply::Reply(Ok(_))
            | OpReply::Admission(_)
            | OpReply::Waiting { .. }
            | OpReply::Events(_) => {}
        }
        if tty {
            eprint!(
                "\r{}/{} returned, {:.1}s",
                returns.len(),
                expected.len(),
                started.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
        }
    };
    if tty {
        eprint!("\r\x1b[K");
    }
    Ok(Streamed {
        jid,
        expected,
        returns,
        ended,
    })
}
