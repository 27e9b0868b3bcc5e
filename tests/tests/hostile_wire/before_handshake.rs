//! Class 1: peers that have not proven a key. Nothing they send gets past
//! the handshake; every attempt ends with the connection closed.
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::target::TargetKind;
use serde_json::json;
use tests::zmtp::{self, Zmtp};
use transport::keys::KeyPair;
use transport::noise::Initiator;
use transport::wire::{
    self, Claim, FetchWhat, Job, JobKind, JobReturn, KeysOp, MasterMsg, MinionMsg, OpRequest,
    Publish, PublishWhat,
};

use crate::fixture::{logged, master_and_minion, State};

const CLOSED: Duration = Duration::from_secs(5);
/// The listener's handshake timeout (10 s) and a sweep's slack.
const EXPIRED: Duration = Duration::from_secs(15);

fn tcp(port: u16, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(bytes).unwrap();
    s
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn broken_tcp_and_zmtp_openings_are_closed_and_logged() {
    let (master, m1) = master_and_minion("");
    let before = State::of(&master, &m1);
    let port = master.ret_port;
    let greeting = zmtp::greeting();
    let mut bad_signature = greeting.clone();
    bad_signature[9] = 0;
    let mut zmtp2 = greeting.clone();
    zmtp2[10] = 2;
    let mut quick = vec![
        (
            "HTTP",
            tcp(
                port,
                &cat(&[b"GET / HTTP/1.1\r\nHost: m\r\n\r\n", &[b'A'; 64]]),
            ),
        ),
        (
            "a greeting without its signature",
            tcp(port, &bad_signature),
        ),
        ("ZMTP 2.0", tcp(port, &zmtp2)),
        (
            "a message where READY belongs",
            tcp(port, &cat(&[&greeting, &[0, 3], b"abc"])),
        ),
        (
            "READY from a PUB socket",
            tcp(port, &cat(&[&greeting, &zmtp::ready("PUB", &[])])),
        ),
        (
            "READY with an unknown socket type",
            tcp(port, &cat(&[&greeting, &zmtp::ready("BOGUS", &[])])),
        ),
        (
            "READY with a 300-byte identity",
            tcp(
                port,
                &cat(&[
                    &greeting,
                    &zmtp::ready("DEALER", &[("Identity", &[7; 300])]),
                ]),
            ),
        ),
        (
            "an unknown command",
            tcp(port, &cat(&[&greeting, &[4, 6, 5], b"HELLO"])),
        ),
        (
            "a property longer than its command",
            tcp(
                port,
                &cat(&[&greeting, &[4, 12, 5], b"READY", &[3], b"abc", &[0, 0]]),
            ),
        ),
    ];
    // Connections that start and then stop: only the timeouts end them.
    let mut slow = vec![
        ("a silent connection", tcp(port, b"")),
        ("half a greeting", tcp(port, &greeting[..20])),
        ("a ZMTP connection that sends no handshake", {
            let z = Zmtp::connect(port).unwrap();
            z.stream
        }),
    ];
    for (what, s) in &mut quick {
        assert!(
            zmtp::closed_within(s, CLOSED),
            "{what}: still open\n{}",
            master.log()
        );
    }
    for (what, s) in &mut slow {
        assert!(
            zmtp::closed_within(s, EXPIRED),
            "{what}: still open\n{}",
            master.log()
        );
    }
    logged(&master, "a ZMTP greeting or READY that failed or timed out");
    logged(&master, "a connection that sent no handshake in time");
    before.assert_unchanged(&master, &m1);
}

/// Every kind of message the wire knows, sent in plaintext as if a session
/// existed.
fn plaintext_messages() -> Vec<(&'static str, Vec<u8>)> {
    let ret = JobReturn {
        jid: "20260101000000000001".parse().unwrap(),
        success: true,
        ret: json!(true),
        retcode: 0,
    };
    let run = |fun: &str, arg: &str| PublishWhat::Run {
        fun: fun.into(),
        args: vec![json!(arg)],
        kwargs: Default::default(),
    };
    let enc = |v: Result<Vec<u8>, wire::WireError>| v.unwrap();
    vec![
        (
            "OpRequest::Keys(accept all)",
            enc(wire::encode(&OpRequest::Keys(KeysOp::Accept {
                id: None,
                all: true,
            }))),
        ),
        (
            "OpRequest::Publish(cmd.run)",
            enc(wire::encode(&OpRequest::Publish(Publish {
                target: "*".into(),
                tgt_type: TargetKind::Glob,
                what: run("cmd.run", "touch /tmp/brine-pwned"),
                timeout_secs: 5,
                batch: None,
            }))),
        ),
        (
            "OpRequest::JobsList",
            enc(wire::encode(&OpRequest::JobsList)),
        ),
        (
            "MinionMsg::Return",
            enc(wire::encode(&MinionMsg::Return(ret.clone()))),
        ),
        (
            "MinionMsg::Grains",
            enc(wire::encode(&MinionMsg::Grains {
                grains: json!({"id": "m1", "role": "evil"}),
            })),
        ),
        (
            "MinionMsg::Fetch",
            enc(wire::encode(&MinionMsg::Fetch {
                req: 1,
                jid: ret.jid.clone(),
                what: FetchWhat::Url("salt://secret.txt".into()),
            })),
        ),
        (
            "MasterMsg::Job",
            enc(wire::encode(&MasterMsg::Job(Job {
                jid: ret.jid.clone(),
                kind: JobKind::Run {
                    fun: "cmd.run".into(),
                    args: vec![json!("touch /tmp/brine-pwned")],
                    kwargs: Default::default(),
                },
            }))),
        ),
        ("Claim::Operator", enc(wire::encode(&Claim::Operator))),
        (
            "Claim::Minion",
            enc(wire::encode(&Claim::Minion { id: "m1".into() })),
        ),
        ("an empty frame", Vec::new()),
        ("a 2 KiB frame", vec![0x5a; 2048]),
    ]
}

#[test]
fn plaintext_requests_of_every_kind_reach_nothing_on_either_port() {
    let (master, m1) = master_and_minion("");
    let before = State::of(&master, &m1);
    for port in [master.ret_port, master.operator_port] {
        for (what, bytes) in plaintext_messages() {
            // A first message is a bare 32-byte key; these are not.
            assert_ne!(bytes.len(), 32, "{what}");
            let mut z = Zmtp::connect(port).unwrap();
            z.send(&[bytes]).unwrap();
            assert!(z.closed_within(CLOSED), "{what} on {port}: still open");
        }
        // Several at once, as one multi-frame message.
        let mut z = Zmtp::connect(port).unwrap();
        let all: Vec<Vec<u8>> = plaintext_messages()
            .into_iter()
            .take(3)
            .map(|m| m.1)
            .collect();
        z.send(&all).unwrap();
        assert!(z.closed_within(CLOSED), "multi-frame on {port}: still open");
        // During the handshake: a real msg1, then plaintext where msg3 belongs,
        // alone and as several frames.
        for frames in [vec![plaintext_messages()[0].1.clone()], all.clone()] {
            let mut z = Zmtp::connect(port).unwrap();
            let (_, msg1) = Initiator::start(&KeyPair::generate().unwrap()).unwrap();
            z.send(&[msg1]).unwrap();
            z.recv(CLOSED).expect("msg2");
            z.send(&frames).unwrap();
            assert!(
                z.closed_within(CLOSED),
                "plaintext msg3 on {port}: still open"
            );
        }
    }
    logged(&master, "a first message that is not a handshake");
    logged(&master, "a multi-frame message before the handshake");
    logged(
        &master,
        "a third handshake message that does not complete it",
    );
    logged(&master, "a multi-frame message during the handshake");
    // The 2 KiB frame never got past the codec.
    logged(&master, "a message over the receive limit");
    assert!(!std::path::Path::new("/tmp/brine-pwned").exists());
    before.assert_unchanged(&master, &m1);
}

#[test]
fn a_handshake_left_after_msg1_expires() {
    let (master, m1) = master_and_minion("");
    let before = State::of(&master, &m1);
    let mut z = Zmtp::connect(master.ret_port).unwrap();
    let (_, msg1) = Initiator::start(&KeyPair::generate().unwrap()).unwrap();
    z.send(&[msg1]).unwrap();
    z.recv(CLOSED).expect("msg2");
    assert!(z.closed_within(EXPIRED), "a half handshake is still open");
    logged(&master, "a handshake not finished in time");
    before.assert_unchanged(&master, &m1);
}

#[test]
fn a_third_message_that_does_not_match_is_refused_and_writes_no_key() {
    let (master, m1) = master_and_minion("");
    let before = State::of(&master, &m1);
    let port = master.ret_port;
    let claim = wire::encode(&Claim::Minion {
        id: "newcomer".into(),
    })
    .unwrap();
    let start = || {
        let key = KeyPair::generate().unwrap();
        let mut z = Zmtp::connect(port).unwrap();
        let (init, msg1) = Initiator::start(&key).unwrap();
        z.send(&[msg1]).unwrap();
        let msg2 = z.recv(CLOSED).unwrap().remove(0);
        (z, init, msg2)
    };
    // msg3 of another handshake.
    let (mut a, _, _) = start();
    let (_b, init_b, msg2_b) = start();
    let (_, msg3_b, _) = init_b.finish(&msg2_b, &claim).unwrap();
    a.send(&[msg3_b]).unwrap();
    assert!(a.closed_within(CLOSED), "a foreign msg3 was taken");
    // msg3 with one bit flipped.
    let (mut c, init_c, msg2_c) = start();
    let (_, mut msg3, _) = init_c.finish(&msg2_c, &claim).unwrap();
    let last = msg3.len() - 1;
    msg3[last] ^= 1;
    c.send(&[msg3]).unwrap();
    assert!(c.closed_within(CLOSED), "a corrupted msg3 was taken");
    // A well-formed msg3 whose claim is not a claim.
    let (mut d, init_d, msg2_d) = start();
    let (_, msg3, _) = init_d.finish(&msg2_d, b"\xc1not msgpack").unwrap();
    d.send(&[msg3]).unwrap();
    assert!(d.closed_within(CLOSED), "an unreadable claim was taken");
    logged(
        &master,
        "a third handshake message that does not complete it",
    );
    logged(&master, "a handshake with an unreadable claim");
    assert!(!master.log().contains("newcomer"));
    before.assert_unchanged(&master, &m1);
}
