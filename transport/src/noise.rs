//! The Noise XX handshake and the encrypted session that follows it.
//!
//! Every connection, minion or operator, starts with three handshake messages
//! (`-> e`, `<- e, ee, s, es`, `-> s, se`). The initiator's third message
//! carries its claim (the minion id or operator name) encrypted; the
//! responder learns the initiator's static key from the same message, so a
//! claim is only ever read together with the key that proved it. The protocol
//! version is the Noise prologue: peers of another version fail the handshake
//! instead of misreading each other.
//!
//! After the handshake a [`Session`] seals a message into one or more frames
//! (Noise caps a message at 64 KiB) with the per-direction counter as nonce:
//! a frame replayed, dropped, reordered or taken from another session fails
//! to open, and the session is then dead. The counter alone cannot tell a
//! message whose *last* frames were cut off (the frames left still open in
//! order), so every frame's plaintext starts with a byte saying whether it
//! ends the message, and a message that does not end with its last frame is
//! refused. Both sides rekey each direction every [`REKEY_EVERY`] frames,
//! counted the same way on both ends.
use snow::{HandshakeState, TransportState};

use crate::keys::{KeyPair, PublicKey};

pub const PARAMS: &str = "Noise_XX_25519_ChaChaPoly_SHA256";
/// Bound into every handshake; bump it when the wire format changes.
pub const PROLOGUE: &[u8] = b"brine/2";
/// Noise's own limit on one message, tag included.
pub const MAX_FRAME: usize = 65535;
const TAG: usize = 16;
/// The encrypted byte before each frame's payload: [`LAST`] or [`MORE`].
const MARK: usize = 1;
const MORE: u8 = 0;
const LAST: u8 = 1;
/// Plaintext bytes per frame.
pub const FRAME_PAYLOAD: usize = MAX_FRAME - TAG - MARK;
/// Frames per direction between rekeys.
pub const REKEY_EVERY: u64 = 1 << 16;
/// The first handshake message: the initiator's ephemeral key, no payload.
pub const MSG1_LEN: usize = 32;
/// What the responder sends where msg2 belongs when it will not start a
/// handshake now (too many at once): no msg2 is empty. Unauthenticated, like
/// any refusal before a handshake; it only tells the initiator to back off.
pub const BUSY: &[u8] = b"";
/// No handshake message is longer: the largest, the third, is a static key,
/// two tags and the claim (an id of at most 255 bytes, MessagePack-encoded).
pub const MAX_HANDSHAKE_MESSAGE: usize = 1024;

/// The bytes on the wire for a message of `plain` bytes: its frames, each
/// with its mark and tag.
pub const fn sealed_len(plain: usize) -> usize {
    plain + frames_for(plain) * (MARK + TAG)
}

/// How many frames [`Session::seal`] makes of a message of `plain` bytes.
pub const fn frames_for(plain: usize) -> usize {
    if plain == 0 {
        1
    } else {
        plain.div_ceil(FRAME_PAYLOAD)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NoiseError {
    #[error("handshake: {0}")]
    Handshake(String),
    #[error("a message of {frames} frames is over the limit of {limit} bytes")]
    TooLarge { frames: usize, limit: usize },
    #[error("a frame failed to decrypt (replayed, reordered, truncated or forged)")]
    Decrypt,
    #[error("a message's frames do not end with its last frame (frames cut off or added)")]
    Unterminated,
    #[error("an empty message")]
    Empty,
}

fn hs_err(e: snow::Error) -> NoiseError {
    NoiseError::Handshake(e.to_string())
}

pub fn builder() -> snow::Builder<'static> {
    snow::Builder::new(PARAMS.parse().expect("valid Noise parameters"))
}

fn too_long(msg: &[u8]) -> Result<(), NoiseError> {
    if msg.len() > MAX_HANDSHAKE_MESSAGE {
        return Err(NoiseError::Handshake(format!(
            "a handshake message of {} bytes (the limit is {MAX_HANDSHAKE_MESSAGE})",
            msg.len()
        )));
    }
    Ok(())
}

/// The connecting side (minion, operator).
pub struct Initiator {
    hs: HandshakeState,
}

impl Initiator {
    /// Starts a handshake; returns the first message to send.
    pub fn start(key: &KeyPair) -> Result<(Initiator, Vec<u8>), NoiseError> {
        let mut hs = builder()
            .local_private_key(key.private_bytes())
            .and_then(|b| b.prologue(PROLOGUE))
            .and_then(|b| b.build_initiator())
            .map_err(hs_err)?;
        let mut buf = vec![0u8; MAX_FRAME];
        let n = hs.write_message(&[], &mut buf).map_err(hs_err)?;
        buf.truncate(n);
        Ok((Initiator { hs }, buf))
    }

    /// Reads the responder's message; returns the responder's static key (to
    /// check against a pinned fingerprint) and the third message, which
    /// carries `claim` encrypted, with the finished session.
    pub fn finish(
        mut self,
        msg2: &[u8],
        claim: &[u8],
    ) -> Result<(PublicKey, Vec<u8>, Session), NoiseError> {
        too_long(msg2)?;
        let mut payload = vec![0u8; MAX_FRAME];
        self.hs.read_message(msg2, &mut payload).map_err(hs_err)?;
        let remote = self
            .hs
            .get_remote_static()
            .and_then(PublicKey::from_slice)
            .ok_or_else(|| NoiseError::Handshake("the responder sent no static key".into()))?;
        let mut msg3 = vec![0u8; MAX_FRAME];
        let n = self.hs.write_message(claim, &mut msg3).map_err(hs_err)?;
        msg3.truncate(n);
        let session = Session::new(self.hs.into_transport_mode().map_err(hs_err)?);
        Ok((remote, msg3, session))
    }
}

/// The listening side (master).
pub struct Responder {
    hs: HandshakeState,
}

impl Responder {
    /// Reads the first message; returns the reply to send. The message must
    /// be exactly an ephemeral key: Noise would accept a plaintext payload
    /// after it, which our initiator never sends, so anything longer is
    /// refused before any key agreement is computed.
    pub fn start(key: &KeyPair, msg1: &[u8]) -> Result<(Responder, Vec<u8>), NoiseError> {
        if msg1.len() != MSG1_LEN {
            return Err(NoiseError::Handshake(format!(
                "a first message of {} bytes (it is {MSG1_LEN})",
                msg1.len()
            )));
        }
        let mut hs = builder()
            .local_private_key(key.private_bytes())
            .and_then(|b| b.prologue(PROLOGUE))
            .and_then(|b| b.build_responder())
            .map_err(hs_err)?;
        let mut payload = vec![0u8; MAX_FRAME];
        hs.read_message(msg1, &mut payload).map_err(hs_err)?;
        let mut msg2 = vec![0u8; MAX_FRAME];
        let n = hs.write_message(&[], &mut msg2).map_err(hs_err)?;
        msg2.truncate(n);
        Ok((Responder { hs }, msg2))
    }

    /// Reads the third message: the initiator's proven static key, its claim,
    /// and the session.
    pub fn finish(mut self, msg3: &[u8]) -> Result<(PublicKey, Vec<u8>, Session), NoiseError> {
        too_long(msg3)?;
        let mut claim = vec![0u8; MAX_FRAME];
        let n = self.hs.read_message(msg3, &mut claim).map_err(hs_err)?;
        claim.truncate(n);
        let remote = self
            .hs
            .get_remote_static()
            .and_then(PublicKey::from_slice)
            .ok_or_else(|| NoiseError::Handshake("the initiator sent no static key".into()))?;
        let session = Session::new(self.hs.into_transport_mode().map_err(hs_err)?);
        Ok((remote, claim, session))
    }
}

/// An established, encrypted session: one per connection, per direction a
/// counter nonce.
pub struct Session {
    transport: TransportState,
    sealed: u64,
    opened: u64,
}

impl Session {
    fn new(transport: TransportState) -> Session {
        Session {
            transport,
            sealed: 0,
            opened: 0,
        }
    }

    /// Encrypts `plaintext` into frames of at most [`MAX_FRAME`] bytes.
    pub fn seal(&mut self, plaintext: &[u8]) -> Vec<Vec<u8>> {
        let count = plaintext.len().div_ceil(FRAME_PAYLOAD).max(1);
        let mut frames = Vec::with_capacity(count);
        let mut chunks = plaintext.chunks(FRAME_PAYLOAD);
        for i in 0..count {
            let mark = if i + 1 == count { LAST } else { MORE };
            frames.push(self.seal_frame(mark, chunks.next().unwrap_or_default()));
        }
        frames
    }

    fn seal_frame(&mut self, mark: u8, chunk: &[u8]) -> Vec<u8> {
        let mut framed = Vec::with_capacity(MARK + chunk.len());
        framed.push(mark);
        framed.extend_from_slice(chunk);
        let mut out = vec![0u8; framed.len() + TAG];
        let n = self
            .transport
            .write_message(&framed, &mut out)
            .expect("a chunk under Noise's limit always seals");
        out.truncate(n);
        self.sealed += 1;
        if self.sealed.is_multiple_of(REKEY_EVERY) {
            self.transport.rekey_outgoing();
        }
        out
    }

    /// Decrypts one message's frames. Refuses before decrypting anything when
    /// the frames could hold more than `limit` bytes, and refuses a message
    /// whose frames do not end exactly at the frame sealed as its last.
    pub fn open<'a>(
        &mut self,
        frames: impl ExactSizeIterator<Item = &'a [u8]>,
        limit: usize,
    ) -> Result<Vec<u8>, NoiseError> {
        let count = frames.len();
        if count == 0 {
            return Err(NoiseError::Empty);
        }
        if count.saturating_sub(1).saturating_mul(FRAME_PAYLOAD) > limit {
            return Err(NoiseError::TooLarge {
                frames: count,
                limit,
            });
        }
        let mut out = Vec::new();
        for (i, frame) in frames.enumerate() {
            if frame.len() > MAX_FRAME || frame.len() < TAG + MARK {
                return Err(NoiseError::Decrypt);
            }
            let start = out.len();
            out.resize(start + frame.len(), 0);
            let n = self
                .transport
                .read_message(frame, &mut out[start..])
                .map_err(|_| NoiseError::Decrypt)?;
            self.opened += 1;
            if self.opened.is_multiple_of(REKEY_EVERY) {
                self.transport.rekey_incoming();
            }
            let expected = if i + 1 == count { LAST } else { MORE };
            if n < MARK || out[start] != expected {
                return Err(NoiseError::Unterminated);
            }
            out.copy_within(start + MARK..start + n, start);
            out.truncate(start + n - MARK);
            if out.len() > limit {
                return Err(NoiseError::TooLarge {
                    frames: count,
                    limit,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Session, Session, PublicKey, PublicKey, Vec<u8>) {
        let server = KeyPair::generate().unwrap();
        let client = KeyPair::generate().unwrap();
        let (init, m1) = Initiator::start(&client).unwrap();
        let (resp, m2) = Responder::start(&server, &m1).unwrap();
        let (server_seen, m3, c) = init.finish(&m2, b"web01").unwrap();
        let (client_seen, claim, s) = resp.finish(&m3).unwrap();
        assert_eq!(server_seen, server.public);
        assert_eq!(client_seen, client.public);
        (c, s, server.public, client.public, claim)
    }

    #[test]
    fn handshake_proves_both_keys_and_carries_the_claim() {
        let (_, _, _, _, claim) = pair();
        assert_eq!(claim, b"web01");
    }

    #[test]
    fn large_messages_span_frames_and_round_trip() {
        let (mut c, mut s, ..) = pair();
        let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let frames = c.seal(&big);
        assert_eq!(frames.len(), 4);
        assert!(frames.iter().all(|f| f.len() <= MAX_FRAME));
        let got = s
            .open(frames.iter().map(|f| f.as_slice()), 1 << 20)
            .unwrap();
        assert_eq!(got, big);
        let empty = c.seal(b"");
        assert_eq!(s.open(empty.iter().map(|f| f.as_slice()), 10).unwrap(), b"");
    }

    #[test]
    fn replayed_reordered_and_foreign_frames_fail() {
        let (mut c, mut s, ..) = pair();
        let a = c.seal(b"one");
        let b = c.seal(b"two");
        // Reordered: the second message first.
        assert!(matches!(
            s.open(b.iter().map(|f| f.as_slice()), 100),
            Err(NoiseError::Decrypt)
        ));
        let (mut c2, mut s2, ..) = pair();
        let _ = c2.seal(b"x");
        // From another session.
        assert!(s2.open(a.iter().map(|f| f.as_slice()), 100).is_err());
        // Replayed within a session.
        let m = c2.seal(b"y");
        let _ = s2.open(c2.seal(b"z").iter().map(|f| f.as_slice()), 100);
        assert!(s2.open(m.iter().map(|f| f.as_slice()), 100).is_err());
    }

    /// Found by the `handshake` fuzz target (fuzz/regressions/handshake/):
    /// without an end mark, the first frames of a message opened on their
    /// own as a shorter message.
    #[test]
    fn a_message_cut_short_or_split_fails() {
        let (mut c, mut s, ..) = pair();
        let big = vec![7u8; 2 * FRAME_PAYLOAD + 5];
        let frames = c.seal(&big);
        assert_eq!(frames.len(), 3);
        assert!(matches!(
            s.open(frames[..2].iter().map(|f| f.as_slice()), 1 << 20),
            Err(NoiseError::Unterminated)
        ));
        // One message delivered as two: the first part does not end the message.
        let (mut c, mut s, ..) = pair();
        let frames = c.seal(&big);
        assert!(matches!(
            s.open(frames[..1].iter().map(|f| f.as_slice()), 1 << 20),
            Err(NoiseError::Unterminated)
        ));
        // Whole, it opens.
        let (mut c, mut s, ..) = pair();
        let frames = c.seal(&big);
        assert_eq!(
            s.open(frames.iter().map(|f| f.as_slice()), 1 << 20)
                .unwrap(),
            big
        );
    }

    #[test]
    fn oversized_messages_are_refused_before_decrypting() {
        let (mut c, mut s, ..) = pair();
        let frames = c.seal(&vec![0u8; 3 * FRAME_PAYLOAD]);
        assert!(matches!(
            s.open(frames.iter().map(|f| f.as_slice()), FRAME_PAYLOAD),
            Err(NoiseError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_wrong_prologue_or_garbage_fails_the_handshake() {
        let server = KeyPair::generate().unwrap();
        assert!(Responder::start(&server, b"not a handshake").is_err());
        assert!(Responder::start(&server, &[]).is_err());
    }

    #[test]
    fn handshake_messages_have_their_sizes_and_no_more() {
        let server = KeyPair::generate().unwrap();
        let client = KeyPair::generate().unwrap();
        let (init, m1) = Initiator::start(&client).unwrap();
        assert_eq!(m1.len(), MSG1_LEN);
        // Noise would take a plaintext payload after the key; we do not.
        let mut padded = m1.clone();
        padded.extend_from_slice(b"{\"Keys\":\"List\"}");
        assert!(Responder::start(&server, &padded).is_err());
        let (resp, m2) = Responder::start(&server, &m1).unwrap();
        let longest_claim = crate::wire::encode(&crate::wire::Claim::Minion {
            id: "x".repeat(255),
        })
        .unwrap();
        let (_, m3, _) = init.finish(&m2, &longest_claim).unwrap();
        assert!(m2.len() <= MAX_HANDSHAKE_MESSAGE && m3.len() <= MAX_HANDSHAKE_MESSAGE);
        assert!(resp.finish(&m3).is_ok());
        let (_, m1) = Initiator::start(&client).unwrap();
        let (resp, _) = Responder::start(&server, &m1).unwrap();
        assert!(resp.finish(&vec![0u8; MAX_HANDSHAKE_MESSAGE + 1]).is_err());
    }

    #[test]
    fn sealed_length_counts_every_frame_tag() {
        let (mut c, ..) = pair();
        for n in [
            0,
            1,
            FRAME_PAYLOAD,
            FRAME_PAYLOAD + 1,
            3 * FRAME_PAYLOAD + 7,
        ] {
            let frames = c.seal(&vec![0u8; n]);
            assert_eq!(frames.len(), frames_for(n));
            assert_eq!(frames.iter().map(Vec::len).sum::<usize>(), sealed_len(n));
        }
    }

    #[test]
    fn both_sides_rekey_in_step() {
        let (mut c, mut s, ..) = pair();
        for i in 0..(REKEY_EVERY + 3) {
            let f = c.seal(&i.to_le_bytes());
            let got = s.open(f.iter().map(|f| f.as_slice()), 64).unwrap();
            assert_eq!(got, i.to_le_bytes());
        }
    }
}
