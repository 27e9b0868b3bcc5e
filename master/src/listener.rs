//! The listening side of sessions: a ZeroMQ ROUTER, the Noise handshake per
//! peer, then sealed messages handed to a [`Handler`].
//!
//! A peer is what its handshake proved, never its ZeroMQ routing identity:
//! before the handshake completes nothing but handshake messages is read,
//! and the handler decides admission from the proven static key and the
//! claim that travelled encrypted with it. One task reads and owns the table
//! of peers; one task writes, so each peer's frames leave in the order they
//! were sealed.
//!
//! What an unauthenticated peer can cost is bounded: the ZeroMQ codec refuses
//! frames over Noise's size and any of its first two messages over a
//! handshake's size before buffering them; handshakes are limited in number
//! and in rate; a connection that fails any step, or stays silent, is closed
//! (not just forgotten); refusals are logged through [`Refusals`].
//!
//! A listener serves one port and is typed by the one message type that port
//! sends ([`Outbound`]): a [`MinionPeer`] can only be sent [`MasterMsg`], an
//! [`OperatorPeer`] only [`OpReply`], so sending on the wrong port does not
//! compile.
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;
use zeromq::{
    RouterSendHalf, RouterSocket, Socket, SocketEvent, SocketOptions, SocketRecv, SocketSend,
    ZmqMessage,
};

use transport::keys::{KeyPair, PublicKey};
use transport::noise::{self, Responder, Session};
use transport::wire::{self, Admission, Claim, MasterMsg, OpReply, MAX_MESSAGE};

use crate::refusals::Refusals;
use crate::token_bucket::TokenBucket;

/// The message type one port sends to its peers. Its first message on every
/// session is the admission verdict, as this type's `Admission` variant.
pub trait Outbound: Serialize + Send + Sync + 'static {
    fn admission(a: Admission) -> Self;
}

impl Outbound for MasterMsg {
    fn admission(a: Admission) -> Self {
        MasterMsg::Admission(a)
    }
}

impl Outbound for OpReply {
    fn admission(a: Admission) -> Self {
        OpReply::Admission(a)
    }
}

/// A session on the minion port.
pub type MinionPeer = Peer<MasterMsg>;
/// A session on the operator port.
pub type OperatorPeer = Peer<OpReply>;

/// What the application does with sessions.
pub trait Handler: Send + Sync + 'static {
    /// What this port sends.
    type Sends: Outbound;
    /// Decides whether a proven key with its claim may go on. Called in the
    /// reader task: must not block.
    fn admit(&self, key: &PublicKey, claim: &Claim) -> Admission;
    /// The first message has been sent to an admitted peer.
    fn opened(&self, peer: &Arc<Peer<Self::Sends>>);
    /// A peer was told [`Admission::Pending`]. Returning true keeps its
    /// session open so the handler can admit it later (its next message
    /// from the master is then `Admission::Accepted`); its messages reach
    /// [`Handler::message`] meanwhile. By default the connection ends once
    /// the peer has read why.
    fn hold_pending(&self, _peer: &Arc<Peer<Self::Sends>>) -> bool {
        false
    }
    /// One opened message from an admitted peer (bytes still to decode).
    fn message(&self, peer: &Arc<Peer<Self::Sends>>, bytes: Vec<u8>);
    /// The peer is gone (disconnected, silent, or closed by the master).
    fn closed(&self, peer: &Arc<Peer<Self::Sends>>);
}

/// Limits that keep a flood of connections from costing more than this.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Handshakes in progress at once; more are dropped unanswered.
    pub handshakes: usize,
    /// A handshake not finished by then is forgotten.
    pub handshake_timeout: Duration,
    /// A peer that sends nothing for this long is closed (peers ping).
    pub idle_timeout: Duration,
    /// Handshakes started per second on average; more are refused and their
    /// connections closed (minions retry with jittered back-off).
    pub handshake_rate: u32,
    /// Handshakes that may start at once above the rate.
    pub handshake_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshakes: 4096,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            // 10,000 minions reconnecting after a master restart get in within 20 s.
            handshake_rate: 500,
            handshake_burst: 1000,
        }
    }
}

/// An admitted peer, to which only `M` can be sent.
pub struct Peer<M> {
    /// Unique per session for the life of the master.
    pub serial: u64,
    pub key: PublicKey,
    pub claim: Claim,
    identity: Bytes,
    session: Mutex<Session>,
    out: mpsc::Sender<Outgoing>,
    control: mpsc::UnboundedSender<Control>,
    last_seen: Mutex<Instant>,
    closed: AtomicBool,
    sends: PhantomData<fn(&M)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the peer's session is closed")]
    Closed,
    #[error("the send queue is full")]
    Full,
    #[error(transparent)]
    Wire(#[from] wire::WireError),
}

impl<M: Outbound> Peer<M> {
    /// Seals and queues a message. Never blocks: a full queue is an error.
    pub fn send(&self, msg: &M) -> Result<(), SendError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(SendError::Closed);
        }
        let plain = wire::encode(msg)?;
        // Seal and queue under one lock so the nonce order is the queue order.
        let mut session = self.session.lock().unwrap();
        let frames = session.seal(&plain);
        let mut zmsg = ZmqMessage::from(self.identity.clone());
        for f in frames {
            zmsg.push_back(Bytes::from(f));
        }
        self.out
            .try_send(Outgoing::Send(zmsg))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SendError::Full,
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
            })
    }

    /// Ends this session now (key deleted or rejected, or replaced).
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::Relaxed) {
            let _ = self
                .control
                .send(Control::Close(self.identity.clone(), self.serial));
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

enum Control {
    Close(Bytes, u64),
}

/// What the writer task does, in queue order: a connection is closed only
/// after what was queued for it before (a refusal's reason) has been written.
enum Outgoing {
    Send(ZmqMessage),
    Close(Bytes),
}

enum PeerState<M> {
    /// ZeroMQ accepted the connection; nothing read from it yet.
    Connected {
        since: Instant,
    },
    Handshaking {
        responder: Box<Responder>,
        since: Instant,
    },
    Live(Arc<Peer<M>>),
}

/// Binds `endpoint` and serves until the process ends.
pub async fn serve<H: Handler>(
    endpoint: &str,
    key: Arc<KeyPair>,
    handler: Arc<H>,
    limits: Limits,
) -> Result<String, zeromq::ZmqError> {
    let mut options = SocketOptions::default();
    options
        // Two messages (msg1, msg3) are read before a peer is known.
        .receive_limits(transport::link::receive_limits(2))
        .accept_handshake_timeout(limits.handshake_timeout);
    let mut socket = RouterSocket::with_options(options);
    let bound = socket.bind(endpoint).await?.to_string();
    let monitor = socket.monitor();
    let (send_half, recv_half) = socket.split();
    let (out, outgoing) = mpsc::channel(1 << 16);
    let closer = send_half.clone();
    tokio::spawn(write_loop(send_half, outgoing));
    let (control, controls) = mpsc::unbounded_channel();
    let now = Instant::now();
    let reader = Reader {
        key,
        handler,
        limits,
        peers: HashMap::new(),
        handshaking: 0,
        rate: TokenBucket::new(limits.handshake_rate, limits.handshake_burst, now),
        refusals: Refusals::new(format!("a peer before its handshake on {bound}")),
        closer,
        out,
        control,
        serial: AtomicU64::new(1),
    };
    tokio::spawn(reader.run(recv_half, monitor, controls));
    Ok(bound)
}

/// A send blocked this long means the peer stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

async fn write_loop(mut socket: RouterSendHalf, mut outgoing: mpsc::Receiver<Outgoing>) {
    while let Some(out) = outgoing.recv().await {
        let msg = match out {
            Outgoing::Send(msg) => msg,
            Outgoing::Close(id) => {
                socket.disconnect(&id);
                continue;
            }
        };
        match tokio::time::timeout(SEND_TIMEOUT, socket.send(msg)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "send to a peer failed"),
            Err(_) => tracing::warn!("a peer did not take a message within {SEND_TIMEOUT:?}"),
        }
    }
}

struct Reader<H: Handler> {
    key: Arc<KeyPair>,
    handler: Arc<H>,
    limits: Limits,
    peers: HashMap<Bytes, PeerState<H::Sends>>,
    /// How many of `peers` are `Handshaking`, kept as they change so a
    /// handshake costs O(1) however many peers there are.
    handshaking: usize,
    rate: TokenBucket,
    refusals: Refusals,
    /// Closes connections at once (nothing queued for them matters).
    closer: RouterSendHalf,
    out: mpsc::Sender<Outgoing>,
    control: mpsc::UnboundedSender<Control>,
    serial: AtomicU64,
}

impl<H: Handler> Reader<H> {
    async fn run(
        mut self,
        mut socket: zeromq::RouterRecvHalf,
        mut monitor: futures::channel::mpsc::Receiver<SocketEvent>,
        mut controls: mpsc::UnboundedReceiver<Control>,
    ) {
        let mut sweep = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                msg = socket.recv() => match msg {
                    Ok(msg) => self.on_message(msg),
                    Err(e) => {
                        tracing::error!(error = %e, "the listening socket failed");
                        return;
                    }
                },
                Some(event) = monitor.next() => match event {
                    SocketEvent::Disconnected(id) => self.drop_peer(&Bytes::from(id), None),
                    SocketEvent::Accepted(_, id) => {
                        let id = Bytes::from(id);
                        if !self.peers.contains_key(&id) {
                            self.put(id, PeerState::Connected { since: Instant::now() });
                        }
                    }
                    SocketEvent::AcceptFailed(e) => {
                        tracing::debug!(error = %e, "a ZMTP greeting or READY failed");
                        self.refusals.note("a ZMTP greeting or READY that failed or timed out", Instant::now());
                    }
                    _ => {}
                },
                Some(Control::Close(id, serial)) = controls.recv() => {
                    self.drop_peer(&id, Some(serial));
                }
                _ = sweep.tick() => self.sweep(),
            }
        }
    }

    /// The only ways into and out of `peers`, so `handshaking` stays true.
    fn put(&mut self, id: Bytes, state: PeerState<H::Sends>) {
        if matches!(state, PeerState::Handshaking { .. }) {
            self.handshaking += 1;
        }
        if let Some(old) = self.peers.insert(id, state) {
            self.forget(&old);
        }
    }

    fn take(&mut self, id: &Bytes) -> Option<PeerState<H::Sends>> {
        let state = self.peers.remove(id)?;
        self.forget(&state);
        Some(state)
    }

    fn forget(&mut self, state: &PeerState<H::Sends>) {
        if matches!(state, PeerState::Handshaking { .. }) {
            self.handshaking -= 1;
        }
    }

    /// Refuses an unauthenticated peer: counted, logged, connection closed.
    fn refuse(&mut self, id: &Bytes, reason: &'static str) {
        self.refusals.note(reason, Instant::now());
        self.closer.disconnect(id);
    }

    /// Refuses a handshake for want of capacity: the peer is told at once
    /// ([`noise::BUSY`] where msg2 belongs) so it backs off and retries
    /// instead of waiting out its handshake timeout.
    fn busy(&mut self, id: &Bytes, reason: &'static str) {
        self.refusals.note(reason, Instant::now());
        let mut reply = ZmqMessage::from(id.clone());
        reply.push_back(Bytes::from_static(noise::BUSY));
        if self.out.try_send(Outgoing::Send(reply)).is_ok() {
            self.close_after_queued(id);
        } else {
            self.closer.disconnect(id);
        }
    }

    /// Closes a connection after whatever is already queued for it.
    fn close_after_queued(&mut self, id: &Bytes) {
        if self.out.try_send(Outgoing::Close(id.clone())).is_err() {
            self.closer.disconnect(id);
        }
    }

    fn drop_peer(&mut self, id: &Bytes, serial: Option<u64>) {
        if let Some(PeerState::Live(p)) = self.peers.get(id) {
            if serial.is_some_and(|s| s != p.serial) {
                return;
            }
        }
        if let Some(PeerState::Live(peer)) = self.take(id) {
            peer.closed.store(true, Ordering::Relaxed);
            self.handler.closed(&peer);
            self.close_after_queued(id);
        }
    }

    fn sweep(&mut self) {
        let now = Instant::now();
        let mut gone = Vec::new();
        for (id, state) in &self.peers {
            let stale = match state {
                PeerState::Connected { since } | PeerState::Handshaking { since, .. } => {
                    now.duration_since(*since) > self.limits.handshake_timeout
                }
                PeerState::Live(p) => {
                    now.duration_since(*p.last_seen.lock().unwrap()) > self.limits.idle_timeout
                }
            };
            if stale {
                gone.push(id.clone());
            }
        }
        for id in gone {
            match self.peers.get(&id) {
                Some(PeerState::Live(p)) => {
                    tracing::info!(claim = ?p.claim, "closing a silent session");
                    self.drop_peer(&id, None);
                }
                Some(PeerState::Connected { .. }) => {
                    self.take(&id);
                    self.refuse(&id, "a connection that sent no handshake in time");
                }
                Some(PeerState::Handshaking { .. }) => {
                    self.take(&id);
                    self.refuse(&id, "a handshake not finished in time");
                }
                None => {}
            }
        }
        self.refusals.flush(now);
    }

    fn on_message(&mut self, msg: ZmqMessage) {
        let mut frames = msg.into_vec();
        if frames.len() < 2 {
            return;
        }
        let id = frames.remove(0);
        match self.take(&id) {
            None | Some(PeerState::Connected { .. }) => self.on_first(id, &frames),
            Some(PeerState::Handshaking { responder, .. }) => {
                self.on_third(id, &frames, *responder)
            }
            Some(PeerState::Live(peer)) => {
                let opened = peer
                    .session
                    .lock()
                    .unwrap()
                    .open(frames.iter().map(|f| f.as_ref()), MAX_MESSAGE);
                match opened {
                    Ok(bytes) => {
                        *peer.last_seen.lock().unwrap() = Instant::now();
                        self.put(id, PeerState::Live(peer.clone()));
                        self.handler.message(&peer, bytes);
                    }
                    Err(e) => {
                        tracing::warn!(claim = ?peer.claim, error = %e, "closing a session that sent a bad frame");
                        peer.closed.store(true, Ordering::Relaxed);
                        self.handler.closed(&peer);
                        self.closer.disconnect(&id);
                    }
                }
            }
        }
    }

    fn on_first(&mut self, id: Bytes, frames: &[Bytes]) {
        if frames.len() != 1 {
            return self.refuse(&id, "a multi-frame message before the handshake");
        }
        if self.handshaking >= self.limits.handshakes {
            return self.busy(&id, "too many handshakes in progress");
        }
        if !self.rate.take(Instant::now()) {
            return self.busy(&id, "a handshake over handshake_rate");
        }
        match Responder::start(&self.key, &frames[0]) {
            Ok((responder, msg2)) => {
                let mut reply = ZmqMessage::from(id.clone());
                reply.push_back(Bytes::from(msg2));
                if self.out.try_send(Outgoing::Send(reply)).is_ok() {
                    self.put(
                        id,
                        PeerState::Handshaking {
                            responder: Box::new(responder),
                            since: Instant::now(),
                        },
                    );
                } else {
                    self.closer.disconnect(&id);
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "a bad first handshake message");
                self.refuse(&id, "a first message that is not a handshake");
            }
        }
    }

    fn on_third(&mut self, id: Bytes, frames: &[Bytes], responder: Responder) {
        if frames.len() != 1 {
            return self.refuse(&id, "a multi-frame message during the handshake");
        }
        let (key, claim, session) = match responder.finish(&frames[0]) {
            Ok(done) => done,
            Err(e) => {
                tracing::debug!(error = %e, "a failed handshake");
                return self.refuse(&id, "a third handshake message that does not complete it");
            }
        };
        let claim: Claim = match wire::decode(&claim) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(fingerprint = %key.fingerprint(), error = %e, "a handshake with an unreadable claim");
                return self.closer.disconnect(&id);
            }
        };
        let admission = self.handler.admit(&key, &claim);
        let peer = Arc::new(Peer {
            serial: self.serial.fetch_add(1, Ordering::Relaxed),
            key,
            claim,
            identity: id.clone(),
            session: Mutex::new(session),
            out: self.out.clone(),
            control: self.control.clone(),
            last_seen: Mutex::new(Instant::now()),
            closed: AtomicBool::new(false),
            sends: PhantomData,
        });
        let accepted = admission == Admission::Accepted;
        let pending = admission == Admission::Pending;
        if peer.send(&H::Sends::admission(admission)).is_err() {
            return self.closer.disconnect(&id);
        }
        if pending && self.handler.hold_pending(&peer) {
            self.put(id, PeerState::Live(peer));
            return;
        }
        if !accepted {
            // The peer reads why, then the connection ends: a refused or
            // pending key gets nothing more read from it.
            return self.close_after_queued(&id);
        }
        self.put(id, PeerState::Live(peer.clone()));
        self.handler.opened(&peer);
    }
}

#[cfg(test)]
#[path = "listener_tests.rs"]
mod tests;
