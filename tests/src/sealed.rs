//! A Noise session over [`Zmtp`], built from `transport::noise` and
//! `transport::wire` as the daemons build theirs, but with every sealed frame in
//! the test's hands: it can capture what it sends and receives, then replay,
//! reorder, cut or carry frames into another session. Either end:
//! [`Sealed::connect`] is a minion or operator, [`Sealed::accept`] a master.
use std::io;
use std::net::TcpListener;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use transport::keys::{KeyPair, PublicKey};
use transport::noise::{Initiator, Responder, Session};
use transport::wire::{self, Admission, Claim, MAX_MESSAGE};

use crate::zmtp::Zmtp;

const STEP: Duration = Duration::from_secs(10);

pub struct Sealed {
    pub zmtp: Zmtp,
    pub session: Session,
}

/// The first sealed message from the master on either port.
#[derive(serde::Deserialize)]
enum First {
    Admission(Admission),
}

impl Sealed {
    /// Runs the handshake with the master at `port` claiming `claim`;
    /// returns the session and the master's admission.
    pub fn connect(port: u16, key: &KeyPair, claim: &Claim) -> io::Result<(Sealed, Admission)> {
        let mut zmtp = Zmtp::connect(port)?;
        let (init, msg1) = Initiator::start(key).map_err(io::Error::other)?;
        zmtp.send(&[msg1])?;
        let msg2 = single(zmtp.recv(STEP)?)?;
        let claim = wire::encode(claim).map_err(io::Error::other)?;
        let (_, msg3, session) = init.finish(&msg2, &claim).map_err(io::Error::other)?;
        zmtp.send(&[msg3])?;
        let mut s = Sealed { zmtp, session };
        let First::Admission(a) = s.recv(STEP)?;
        Ok((s, a))
    }

    /// Accepts one minion on `listener` as the master would, and admits it.
    pub fn accept(listener: &TcpListener, key: &KeyPair) -> io::Result<(Sealed, PublicKey, Claim)> {
        let mut zmtp = Zmtp::accept(listener)?;
        let msg1 = single(zmtp.recv(STEP)?)?;
        let (resp, msg2) = Responder::start(key, &msg1).map_err(io::Error::other)?;
        zmtp.send(&[msg2])?;
        let msg3 = single(zmtp.recv(STEP)?)?;
        let (peer, claim, session) = resp.finish(&msg3).map_err(io::Error::other)?;
        let claim = wire::decode(&claim).map_err(io::Error::other)?;
        let mut s = Sealed { zmtp, session };
        s.send(&wire::MasterMsg::Admission(Admission::Accepted))?;
        Ok((s, peer, claim))
    }

    /// Seals `msg` without sending it: the frames are the test's to use.
    pub fn seal<T: Serialize>(&mut self, msg: &T) -> Vec<Vec<u8>> {
        self.session.seal(&wire::encode(msg).expect("encodable"))
    }

    /// Seals and sends `msg`; returns the frames sent (the capture).
    pub fn send<T: Serialize>(&mut self, msg: &T) -> io::Result<Vec<Vec<u8>>> {
        let frames = self.seal(msg);
        self.zmtp.send(&frames)?;
        Ok(frames)
    }

    /// Receives and opens the next message.
    pub fn recv<T: DeserializeOwned>(&mut self, within: Duration) -> io::Result<T> {
        self.recv_captured(within).map(|(m, _)| m)
    }

    /// [`Sealed::recv`], with the frames as they came off the wire.
    pub fn recv_captured<T: DeserializeOwned>(
        &mut self,
        within: Duration,
    ) -> io::Result<(T, Vec<Vec<u8>>)> {
        let frames = self.zmtp.recv(within)?;
        let plain = self
            .session
            .open(frames.iter().map(Vec::as_slice), MAX_MESSAGE)
            .map_err(io::Error::other)?;
        let msg = wire::decode(&plain).map_err(io::Error::other)?;
        Ok((msg, frames))
    }

    /// Receives until `pick` takes a message (others, such as pongs, are
    /// dropped); `TimedOut` if none does within `within` in all.
    pub fn recv_until<T: DeserializeOwned, R>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(T) -> Option<R>,
    ) -> io::Result<R> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            if let Some(r) = pick(self.recv(left)?) {
                return Ok(r);
            }
        }
    }
}

fn single(mut frames: Vec<Vec<u8>>) -> io::Result<Vec<u8>> {
    if frames.len() != 1 {
        return Err(io::Error::other(format!(
            "a handshake message of {} frames",
            frames.len()
        )));
    }
    Ok(frames.remove(0))
}
