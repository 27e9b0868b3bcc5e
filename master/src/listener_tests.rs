//! The listener against real ZeroMQ sockets on loopback: a peer that has not
//! finished the handshake reaches nothing; one that sends a bad frame after it
//! loses its session; a well-behaved peer is served throughout.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use transport::keys::{KeyPair, PublicKey};
use transport::link::{self, LinkOptions};
use transport::wire::{Admission, Claim, MasterMsg, MinionMsg};
use zeromq::{DealerSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

use super::{serve, Handler, Limits, MinionPeer};

#[derive(Default)]
struct Recorder {
    admitted: AtomicUsize,
    messages: Mutex<Vec<Vec<u8>>>,
    closed: AtomicUsize,
}

impl Handler for Recorder {
    type Sends = MasterMsg;

    fn admit(&self, _key: &PublicKey, claim: &Claim) -> Admission {
        self.admitted.fetch_add(1, Ordering::SeqCst);
        match claim {
            Claim::Minion { id } if id == "good" => Admission::Accepted,
            _ => Admission::Refused {
                reason: "no".into(),
            },
        }
    }
    fn opened(&self, _peer: &Arc<MinionPeer>) {}
    fn message(&self, peer: &Arc<MinionPeer>, bytes: Vec<u8>) {
        self.messages.lock().unwrap().push(bytes);
        let _ = peer.send(&MasterMsg::Pong);
    }
    fn closed(&self, _peer: &Arc<MinionPeer>) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

async fn raw_dealer(endpoint: &str) -> DealerSocket {
    let mut s = DealerSocket::new();
    s.connect(endpoint).await.unwrap();
    s
}

async fn good_link(endpoint: &str, id: &str) -> link::Link {
    let key = KeyPair::generate().unwrap();
    link::connect(
        endpoint,
        &key,
        &Claim::Minion { id: id.into() },
        |_| Ok(()),
        LinkOptions::default(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_but_a_finished_handshake_reaches_the_handler() {
    let key = Arc::new(KeyPair::generate().unwrap());
    let rec = Arc::new(Recorder::default());
    let endpoint = serve("tcp://127.0.0.1:0", key, rec.clone(), Limits::default())
        .await
        .unwrap();

    // Garbage, empty and multi-frame messages before any handshake.
    let mut raw = raw_dealer(&endpoint).await;
    raw.send(ZmqMessage::from(b"GET / HTTP/1.0\r\n\r\n".to_vec()))
        .await
        .unwrap();
    let mut multi = ZmqMessage::from(Bytes::from_static(b"a"));
    multi.push_back(Bytes::from(vec![0u8; 100_000]));
    raw.send(multi).await.unwrap();
    raw.send(ZmqMessage::from(vec![0u8; 32])).await.unwrap();

    // A good peer is served meanwhile.
    let mut good = good_link(&endpoint, "good").await;
    assert_eq!(
        good.rx.recv::<MasterMsg>().await.unwrap(),
        MasterMsg::Admission(Admission::Accepted)
    );
    good.tx.send(&MinionMsg::Ping).await.unwrap();
    assert_eq!(good.rx.recv::<MasterMsg>().await.unwrap(), MasterMsg::Pong);

    // A refused claim gets its answer and nothing after.
    let mut refused = good_link(&endpoint, "bad").await;
    assert!(matches!(
        refused.rx.recv::<MasterMsg>().await.unwrap(),
        MasterMsg::Admission(Admission::Refused { .. })
    ));
    refused.tx.send(&MinionMsg::Ping).await.unwrap();
    let nothing =
        tokio::time::timeout(Duration::from_millis(500), refused.rx.recv::<MasterMsg>()).await;
    assert!(nothing.is_err(), "a refused peer got an answer");

    // Only the good peer's one message reached the handler; the garbage
    // never got as far as admission.
    assert_eq!(rec.messages.lock().unwrap().len(), 1);
    assert_eq!(rec.admitted.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_frame_after_the_handshake_closes_the_session() {
    let key = Arc::new(KeyPair::generate().unwrap());
    let rec = Arc::new(Recorder::default());
    let endpoint = serve(
        "tcp://127.0.0.1:0",
        key.clone(),
        rec.clone(),
        Limits::default(),
    )
    .await
    .unwrap();
    // Handshake by hand over a raw socket, then a frame not sealed by the session.
    let client = KeyPair::generate().unwrap();
    let mut raw = raw_dealer(&endpoint).await;
    let (init, m1) = transport::noise::Initiator::start(&client).unwrap();
    raw.send(ZmqMessage::from(m1)).await.unwrap();
    let m2 = raw.recv().await.unwrap().get(0).unwrap().to_vec();
    let claim = transport::wire::encode(&Claim::Minion { id: "good".into() }).unwrap();
    let (_, m3, mut session) = init.finish(&m2, &claim).unwrap();
    raw.send(ZmqMessage::from(m3)).await.unwrap();
    let admission = raw.recv().await.unwrap();
    let opened = session
        .open(admission.iter().map(|f| f.as_ref()), 1 << 20)
        .unwrap();
    assert_eq!(
        transport::wire::decode::<MasterMsg>(&opened).unwrap(),
        MasterMsg::Admission(Admission::Accepted)
    );
    raw.send(ZmqMessage::from(vec![7u8; 48])).await.unwrap();
    for _ in 0..50 {
        if rec.closed.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rec.closed.load(Ordering::SeqCst), 1);
    // A properly sealed message on the dead session is not delivered.
    let frames = session.seal(&transport::wire::encode(&MinionMsg::Ping).unwrap());
    let mut msg = ZmqMessage::from(Bytes::from(frames[0].clone()));
    for f in &frames[1..] {
        msg.push_back(Bytes::from(f.clone()));
    }
    raw.send(msg).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(rec.messages.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_over_the_rate_is_told_busy_and_may_retry() {
    let key = Arc::new(KeyPair::generate().unwrap());
    let rec = Arc::new(Recorder::default());
    let limits = Limits {
        handshake_rate: 1,
        handshake_burst: 1,
        ..Limits::default()
    };
    let endpoint = serve("tcp://127.0.0.1:0", key, rec.clone(), limits)
        .await
        .unwrap();
    let mut first = good_link(&endpoint, "good").await;
    assert_eq!(
        first.rx.recv::<MasterMsg>().await.unwrap(),
        MasterMsg::Admission(Admission::Accepted)
    );
    // The bucket is empty: told so where msg2 belongs, not left to time out.
    let claim = Claim::Minion { id: "good".into() };
    let client = KeyPair::generate().unwrap();
    let second = link::connect(
        &endpoint,
        &client,
        &claim,
        |_| Ok(()),
        LinkOptions::default(),
    )
    .await;
    assert!(
        matches!(second, Err(link::LinkError::Busy)),
        "{:?}",
        second.err()
    );
    // The session already open is not affected.
    first.tx.send(&MinionMsg::Ping).await.unwrap();
    assert_eq!(first.rx.recv::<MasterMsg>().await.unwrap(), MasterMsg::Pong);
    // A token a second: a retry after the back-off gets in.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut third = good_link(&endpoint, "good").await;
    assert_eq!(
        third.rx.recv::<MasterMsg>().await.unwrap(),
        MasterMsg::Admission(Admission::Accepted)
    );
}
