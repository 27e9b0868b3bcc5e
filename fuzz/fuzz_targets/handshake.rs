//! The Noise XX state machine (`transport::noise`) fed hostile bytes at every
//! step a peer controls. The fuzzer cannot do the Diffie-Hellman work, so any
//! forged message that is *accepted* is a finding, as is any panic.
//!
//! The first byte picks the case; the rest is split with `brine_fuzz::split`:
//! - 0: `Responder::start(msg1)` then `Responder::finish(msg3)`, both fuzzed;
//! - 1: `Initiator::finish(msg2)` with a fuzzed `msg2`;
//! - 2: after a real handshake, `Session::open` of fuzzed frames;
//! - 3: after a real handshake, real sealed frames mutated one way (a bit
//!   flipped, truncated, extended, dropped, duplicated, swapped, replayed,
//!   reordered, taken from another session): opening must fail.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use transport::keys::{KeyPair, PublicKey};
use transport::noise::{Initiator, Responder, Session, FRAME_PAYLOAD};

struct Keys {
    server: KeyPair,
    client: KeyPair,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        server: KeyPair::generate().expect("a key pair"),
        client: KeyPair::generate().expect("a key pair"),
    })
}

/// A real handshake: (client session, server session).
fn sessions() -> (Session, Session) {
    let k = keys();
    let (init, m1) = Initiator::start(&k.client).expect("message 1");
    let (resp, m2) = Responder::start(&k.server, &m1).expect("message 2");
    let (server_seen, m3, client) = init.finish(&m2, b"web01").expect("message 3");
    let (client_seen, claim, server): (PublicKey, Vec<u8>, Session) =
        resp.finish(&m3).expect("the session");
    assert_eq!(server_seen, k.server.public);
    assert_eq!(client_seen, k.client.public);
    assert_eq!(claim, b"web01");
    (client, server)
}

fn open(session: &mut Session, frames: &[Vec<u8>], limit: usize) -> bool {
    session
        .open(frames.iter().map(|f| f.as_slice()), limit)
        .is_ok()
}

fn forged_responder(data: &[u8]) {
    let [msg1, msg3] = brine_fuzz::split(data, 2)[..] else {
        unreachable!()
    };
    let Ok((resp, _msg2)) = Responder::start(&keys().server, msg1) else {
        return;
    };
    assert!(
        resp.finish(msg3).is_err(),
        "a forged third message was accepted"
    );
}

fn forged_initiator(data: &[u8]) {
    let (init, _msg1) = Initiator::start(&keys().client).expect("message 1");
    assert!(
        init.finish(data, b"web01").is_err(),
        "a forged second message was accepted"
    );
}

fn forged_frames(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(head % 8) + 1;
    let frames: Vec<Vec<u8>> = brine_fuzz::split(rest, count)
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let (_client, mut server) = sessions();
    let limit = if head & 0x80 != 0 {
        transport::wire::MAX_MESSAGE
    } else {
        64
    };
    assert!(
        !open(&mut server, &frames, limit),
        "forged frames were opened"
    );
}

fn mutated_frames(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let (op, which, at, byte) = (data[0], usize::from(data[1]), usize::from(data[2]), data[3]);
    let text = &data[4..];
    // Up to three frames' worth of plaintext, so frames can be dropped or swapped.
    let copies = usize::from(op >> 4) % 4;
    let mut plaintext = text.to_vec();
    for _ in 0..copies {
        plaintext.extend_from_slice(&[byte; FRAME_PAYLOAD]);
    }
    let (mut client, mut server) = sessions();
    let mut frames = client.seal(&plaintext);
    let n = frames.len();
    let i = which % n;
    let limit = plaintext.len();
    match op % 9 {
        0 => {
            let f = &mut frames[i];
            let pos = (at * 257 + usize::from(byte)) % f.len();
            f[pos] ^= byte | 1;
        }
        1 => {
            let keep = at % frames[i].len();
            frames[i].truncate(keep);
        }
        2 => frames[i].push(byte),
        3 => {
            if n == 1 {
                // Dropping the only frame leaves the message empty.
                frames.clear();
            } else {
                frames.remove(i);
            }
        }
        4 => {
            let f = frames[i].clone();
            frames.insert(i, f);
        }
        5 => {
            let j = usize::from(byte) % n;
            if i == j {
                return;
            }
            frames.swap(i, j);
        }
        6 => {
            // A replay: the real message opens once, then never again.
            let got = server
                .open(frames.iter().map(|f| f.as_slice()), limit)
                .expect("a real message opens");
            assert_eq!(got, plaintext);
        }
        7 => {
            // Reordered: the next message arrives first.
            frames = client.seal(text);
        }
        8 => {
            // From another session between the same two keys.
            let (mut other, _) = sessions();
            frames = other.seal(&plaintext);
        }
        _ => unreachable!(),
    }
    assert!(
        !open(&mut server, &frames, limit),
        "a mutated frame was opened (op {})",
        op % 9
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&case, rest)) = data.split_first() else {
        return;
    };
    match case % 4 {
        0 => forged_responder(rest),
        1 => forged_initiator(rest),
        2 => forged_frames(rest),
        _ => mutated_frames(rest),
    }
});
