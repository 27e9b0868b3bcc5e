//! One LISTEN connection per master for every channel of the shared store
//! (`brine_keys`, `brine_cache`, `brine_acl`), kept up for the life of the
//! process. A NOTIFY sent while the connection is down is lost, so a
//! reconnect is announced ([`Heard::Reconnected`]) and the consumer replays
//! what it may have missed from the tables (reconciling sessions, reloading
//! caches).
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::{Client, PgError};

/// What the listener heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A NOTIFY on one of the channels.
    Note { channel: String, payload: String },
    /// The connection was lost and is listening again: notifications sent
    /// meanwhile are gone, the tables hold the truth.
    Reconnected,
}

/// How long the listener waits between attempts to reconnect.
const RETRY: Duration = Duration::from_secs(1);

/// LISTENs on `channels` with a connection of its own, on a thread of its
/// own; returns once listening (an error if it cannot start), so a load
/// made after it misses nothing: a change committed after this returns is
/// heard. The thread ends when the receiver is dropped (at the next
/// notification or reconnect).
pub fn listen(dsn: &str, channels: &[&str]) -> Result<Receiver<Heard>, PgError> {
    let sql: String = channels.iter().map(|c| format!("LISTEN {c};")).collect();
    let connect = {
        let dsn = dsn.to_string();
        move || -> Result<Client, PgError> {
            let mut c = Client::connect(&dsn, postgres::NoTls)?;
            c.batch_execute(&sql)?;
            Ok(c)
        }
    };
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let (tx, rx) = std::sync::mpsc::channel();
    let names = channels.join(",");
    std::thread::Builder::new()
        .name("brine-pg-listen".into())
        .spawn(move || {
            let client = match connect() {
                Ok(c) => {
                    let _ = ready_tx.send(Ok(()));
                    c
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            run(client, &tx, &connect, &names);
        })
        .map_err(|_| PgError::Panicked)?;
    ready.recv().map_err(|_| PgError::Panicked)??;
    Ok(rx)
}

fn run(
    mut client: Client,
    tx: &Sender<Heard>,
    connect: &dyn Fn() -> Result<Client, PgError>,
    names: &str,
) {
    loop {
        let err = {
            let mut notes = client.notifications();
            let mut it = notes.blocking_iter();
            loop {
                match it.next() {
                    Ok(Some(n)) => {
                        let heard = Heard::Note {
                            channel: n.channel().to_string(),
                            payload: n.payload().to_string(),
                        };
                        if tx.send(heard).is_err() {
                            return;
                        }
                    }
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                }
            }
        };
        tracing::warn!(error = ?err, channels = names, "lost the shared store's listener connection; reconnecting");
        client = loop {
            std::thread::sleep(RETRY);
            match connect() {
                Ok(c) => break c,
                Err(e) => {
                    tracing::warn!(error = %e, channels = names, "cannot listen to the shared store")
                }
            }
        };
        tracing::info!(
            channels = names,
            "listening to the shared store again; replaying what was missed"
        );
        if tx.send(Heard::Reconnected).is_err() {
            return;
        }
    }
}
