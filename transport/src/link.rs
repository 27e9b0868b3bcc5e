//! The connecting side of a session (minion, operator): a ZeroMQ DEALER, the
//! Noise handshake, then typed messages both ways.
//!
//! One writer task owns the socket's send half and seals in queue order, so
//! the nonce order on the wire is the order messages were queued; the reader
//! opens with the same session. A link is single-use: when it breaks, the
//! caller makes a new one (a fresh socket: the crate's DEALER does not
//! recover by itself after the master restarts).
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc;
use zeromq::{
    DealerSocket, ReceiveLimits, Socket, SocketOptions, SocketRecv, SocketSend, ZmqMessage,
};

use crate::keys::{KeyPair, PublicKey};
use crate::noise::{self, Initiator, NoiseError, Session};
use crate::wire::{self, WireError, MAX_MESSAGE};

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot reach {endpoint}: {message}")]
    Connect { endpoint: String, message: String },
    #[error("no answer from the master within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Noise(#[from] NoiseError),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("the master's key {fingerprint} is not the one expected: {reason}")]
    ServerKey { fingerprint: String, reason: String },
    #[error("the connection closed")]
    Closed,
    #[error("the master is busy with other handshakes; try again later")]
    Busy,
    #[error("socket: {0}")]
    Socket(String),
}

/// How long to wait for the master at each step.
#[derive(Debug, Clone, Copy)]
pub struct LinkOptions {
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// An established session.
pub struct Link {
    pub server_key: PublicKey,
    pub tx: LinkTx,
    pub rx: LinkRx,
}

/// Queues messages for the writer task; cheap to clone.
#[derive(Clone)]
pub struct LinkTx {
    queue: mpsc::Sender<Vec<u8>>,
}

impl LinkTx {
    pub async fn send<T: Serialize>(&self, msg: &T) -> Result<(), LinkError> {
        let bytes = wire::encode(msg)?;
        self.queue.send(bytes).await.map_err(|_| LinkError::Closed)
    }

    /// For blocking threads (a job's file fetches).
    pub fn blocking_send<T: Serialize>(&self, msg: &T) -> Result<(), LinkError> {
        let bytes = wire::encode(msg)?;
        self.queue
            .blocking_send(bytes)
            .map_err(|_| LinkError::Closed)
    }
}

pub struct LinkRx {
    socket: zeromq::DealerRecvHalf,
    session: Arc<Mutex<Session>>,
}

impl LinkRx {
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<T, LinkError> {
        let msg = self
            .socket
            .recv()
            .await
            .map_err(|e| LinkError::Socket(e.to_string()))?;
        let bytes = {
            let mut session = self.session.lock().unwrap();
            session.open(msg.iter().map(|f| f.as_ref()), MAX_MESSAGE)?
        };
        Ok(wire::decode(&bytes)?)
    }
}

/// What a peer can make a socket of ours buffer, checked by the ZeroMQ
/// codec when a frame's length arrives, before any of it is read: frames no
/// larger than a Noise frame, messages no larger than a sealed
/// [`MAX_MESSAGE`], and the first `handshake_messages` messages of a
/// connection no larger than a handshake message (the master reads two, msg1
/// and msg3, before it knows who is talking; a minion reads one, msg2).
pub fn receive_limits(handshake_messages: usize) -> ReceiveLimits {
    let frames = noise::frames_for(MAX_MESSAGE);
    ReceiveLimits {
        max_frame: noise::MAX_FRAME,
        max_message: noise::sealed_len(MAX_MESSAGE) + frames * ReceiveLimits::FRAME_COST,
        first_messages: handshake_messages,
        first_message_max: noise::MAX_HANDSHAKE_MESSAGE + ReceiveLimits::FRAME_COST,
    }
}

fn frames(parts: Vec<Vec<u8>>) -> ZmqMessage {
    let mut iter = parts.into_iter();
    let mut msg = ZmqMessage::from(Bytes::from(iter.next().unwrap_or_default()));
    for p in iter {
        msg.push_back(Bytes::from(p));
    }
    msg
}

/// Connects, runs the handshake carrying `claim`, and checks the master's
/// key with `verify` before sending anything that reveals the claim.
pub async fn connect(
    endpoint: &str,
    key: &KeyPair,
    claim: &wire::Claim,
    verify: impl FnOnce(&PublicKey) -> Result<(), String>,
    opts: LinkOptions,
) -> Result<Link, LinkError> {
    let mut options = SocketOptions::default();
    options
        .connect_timeout(opts.connect_timeout)
        .receive_limits(receive_limits(1));
    let mut socket = DealerSocket::with_options(options);
    let connect_err = |e: zeromq::ZmqError| LinkError::Connect {
        endpoint: endpoint.to_string(),
        message: e.to_string(),
    };
    tokio::time::timeout(opts.connect_timeout, socket.connect(endpoint))
        .await
        .map_err(|_| LinkError::Connect {
            endpoint: endpoint.to_string(),
            message: format!("timed out after {:?}", opts.connect_timeout),
        })?
        .map_err(connect_err)?;
    let step = opts.handshake_timeout;
    let (init, msg1) = Initiator::start(key)?;
    timed(step, socket.send(frames(vec![msg1]))).await?;
    let reply = timed(step, socket.recv()).await?;
    let msg2 = reply.get(0).ok_or(LinkError::Closed)?.to_vec();
    if msg2 == noise::BUSY {
        return Err(LinkError::Busy);
    }
    // The master's static key is known once msg2 is read; the claim travels
    // in msg3, so it is only sent to a master that passed `verify`.
    let claim_bytes = wire::encode(claim)?;
    let (server_key, msg3, session) = init.finish(&msg2, &claim_bytes)?;
    verify(&server_key).map_err(|reason| LinkError::ServerKey {
        fingerprint: server_key.fingerprint(),
        reason,
    })?;
    timed(step, socket.send(frames(vec![msg3]))).await?;
    let (send_half, recv_half) = socket.split();
    let session = Arc::new(Mutex::new(session));
    let (queue, outgoing) = mpsc::channel::<Vec<u8>>(256);
    tokio::spawn(write_loop(send_half, session.clone(), outgoing));
    Ok(Link {
        server_key,
        tx: LinkTx { queue },
        rx: LinkRx {
            socket: recv_half,
            session,
        },
    })
}

async fn timed<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, zeromq::ZmqError>>,
) -> Result<T, LinkError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| LinkError::Timeout(limit))?
        .map_err(|e| LinkError::Socket(e.to_string()))
}

/// A send that blocks longer than this means the master is gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

async fn write_loop(
    mut socket: zeromq::DealerSendHalf,
    session: Arc<Mutex<Session>>,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
) {
    while let Some(plain) = outgoing.recv().await {
        let sealed = session.lock().unwrap().seal(&plain);
        match tokio::time::timeout(SEND_TIMEOUT, socket.send(frames(sealed))).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "send failed; the link is closing");
                return;
            }
            Err(_) => {
                tracing::debug!("send blocked for {SEND_TIMEOUT:?}; the link is closing");
                return;
            }
        }
    }
}
