//! Class 2: frames captured from real sessions, replayed, reordered, cut, or
//! carried into another session; returns and grains sent by one minion in
//! another's name; a job replayed to a minion in a later session.
use std::net::TcpListener;
use std::time::Duration;

use serde_json::{json, Value};
use tests::daemons::{wait_until, Minion};
use tests::sealed::Sealed;
use transport::keys::KeyPair;
use transport::wire::{FetchWhat, Job, JobKind, JobReturn, MasterMsg, MinionMsg};

use crate::fixture::{admitted, cached_grains, log_count, logged, master_and_minion, session};

const STEP: Duration = Duration::from_secs(10);
const CLOSED: Duration = Duration::from_secs(5);
const BAD_FRAME: &str = "closing a session that sent a bad frame";

fn pong(m: MasterMsg) -> Option<()> {
    matches!(m, MasterMsg::Pong).then_some(())
}

fn grains(role: &str) -> MinionMsg {
    MinionMsg::Grains {
        grains: json!({"id": "cap", "role": role}),
    }
}

#[test]
fn replayed_reordered_and_cut_frames_end_the_session() {
    let (master, m1) = master_and_minion("");
    let (key, mut s) = admitted(&master, "cap");
    // Replayed in the same session.
    let ping = s.send(&MinionMsg::Ping).unwrap();
    s.recv_until(STEP, pong).unwrap();
    s.zmtp.send(&ping).unwrap();
    assert!(s.zmtp.closed_within(CLOSED), "a replayed ping was taken");

    // Two messages in the wrong order.
    let mut s = session(&master, &key, "cap");
    let first = s.seal(&grains("first"));
    let second = s.seal(&grains("second"));
    s.zmtp.send(&second).unwrap();
    assert!(
        s.zmtp.closed_within(CLOSED),
        "a reordered message was taken"
    );
    drop(first);

    // A frame cut short, and a message missing its middle frame.
    let mut s = session(&master, &key, "cap");
    let mut cut = s.seal(&grains("cut"));
    let len = cut[0].len();
    cut[0].truncate(len - 1);
    s.zmtp.send(&cut).unwrap();
    assert!(s.zmtp.closed_within(CLOSED), "a truncated frame was taken");
    let mut s = session(&master, &key, "cap");
    let big = MinionMsg::Grains {
        grains: json!({"id": "cap", "role": "gap", "pad": "x".repeat(150_000)}),
    };
    let mut frames = s.seal(&big);
    assert_eq!(frames.len(), 3);
    frames.remove(1);
    s.zmtp.send(&frames).unwrap();
    assert!(
        s.zmtp.closed_within(CLOSED),
        "a message with a gap was taken"
    );

    // Frames of session A replayed into session B of the same minion.
    let mut a = session(&master, &key, "cap");
    let from_a = a.send(&grains("one")).unwrap();
    a.send(&MinionMsg::Ping).unwrap();
    a.recv_until(STEP, pong).unwrap();
    drop(a);
    let mut b = session(&master, &key, "cap");
    b.send(&grains("two")).unwrap();
    b.send(&MinionMsg::Ping).unwrap();
    b.recv_until(STEP, pong).unwrap();
    b.zmtp.send(&from_a).unwrap();
    assert!(
        b.zmtp.closed_within(CLOSED),
        "session A's frames were taken in B"
    );

    // None of the refused messages changed what the master holds.
    assert_eq!(cached_grains(&master, "cap")["role"], "two");
    wait_until(STEP, "five refusals logged", || {
        log_count(&master, BAD_FRAME) >= 5
    });
    let (code, v) = master.json(&["run", "m1", "test.ping"]);
    assert_eq!((code, v), (Some(0), json!({"m1": true})));
    drop(m1);
}

fn job(m: MasterMsg) -> Option<Job> {
    match m {
        MasterMsg::Job(j) => Some(j),
        _ => None,
    }
}

fn acked(jid: &str) -> impl FnMut(MasterMsg) -> Option<()> + '_ {
    move |m| matches!(m, MasterMsg::ReturnAck { jid: j } if j == jid).then_some(())
}

fn fetched(req: u64) -> impl FnMut(MasterMsg) -> Option<Result<Vec<u8>, String>> {
    move |m| match m {
        MasterMsg::Fetched { req: r, reply } if r == req => {
            Some(reply.map(|blobs| blobs.into_iter().flat_map(|b| b.data).collect()))
        }
        _ => None,
    }
}

fn ret(jid: &str, value: Value) -> MinionMsg {
    MinionMsg::Return(JobReturn {
        jid: jid.parse().unwrap(),
        success: true,
        ret: value,
        retcode: 0,
    })
}

#[test]
fn a_return_counts_once_for_its_own_minion_and_session_only() {
    let (master, m1) = master_and_minion("");
    let (victim_key, mut victim) = admitted(&master, "victim");
    let (_, mut thief) = admitted(&master, "thief");
    let mut jid = String::new();
    let mut victim_return = Vec::new();
    std::thread::scope(|scope| {
        let run = scope.spawn(|| master.json(&["run", "victim", "test.ping", "-t", "20"]));
        let j = victim.recv_until(STEP, job).unwrap();
        jid = j.jid.to_string();
        // The thief tries to use the victim's running job to read a file...
        thief
            .send(&MinionMsg::Fetch {
                req: 1,
                jid: jid.parse().unwrap(),
                what: FetchWhat::Url("salt://secret.txt".into()),
            })
            .unwrap();
        let refused = thief.recv_until(STEP, fetched(1)).unwrap().unwrap_err();
        assert!(refused.contains("not running on thief"), "{refused}");
        // ...which the victim itself may.
        victim
            .send(&MinionMsg::Fetch {
                req: 2,
                jid: jid.parse().unwrap(),
                what: FetchWhat::Url("salt://secret.txt".into()),
            })
            .unwrap();
        let data = victim.recv_until(STEP, fetched(2)).unwrap().unwrap();
        assert_eq!(data, b"only for the job that names it\n");
        // ...then answers it first, and reports grains in the victim's name.
        thief.send(&ret(&jid, json!("forged by thief"))).unwrap();
        thief.recv_until(STEP, acked(&jid)).unwrap();
        thief
            .send(&MinionMsg::Grains {
                grains: json!({"id": "victim", "role": "evil"}),
            })
            .unwrap();
        victim_return = victim.send(&ret(&jid, json!(true))).unwrap();
        victim.recv_until(STEP, acked(&jid)).unwrap();
        let (code, v) = run.join().unwrap();
        assert_eq!((code, v), (Some(0), json!({"victim": true})));
    });
    let shown = || master.json(&["jobs", "show", &jid]).1;
    let recorded = shown()["returns"].clone();
    assert_eq!(recorded.as_array().unwrap().len(), 1, "{recorded:#}");
    assert_eq!(recorded[0]["minion"], "victim");
    assert_eq!(recorded[0]["ret"], true);

    // The victim's return replayed in its own session: refused.
    victim.zmtp.send(&victim_return).unwrap();
    assert!(victim.zmtp.closed_within(CLOSED));
    // ...and in a later session: refused.
    let mut later = session(&master, &victim_key, "victim");
    later.zmtp.send(&victim_return).unwrap();
    assert!(later.zmtp.closed_within(CLOSED));
    // The victim's own key, properly sealed, after the job finished: acked
    // so its outbox empties, but not recorded a second time.
    let mut later = session(&master, &victim_key, "victim");
    later.send(&ret(&jid, json!("changed later"))).unwrap();
    later.recv_until(STEP, acked(&jid)).unwrap();
    assert_eq!(shown()["returns"], recorded);

    // Grains go under the id the key proved, whatever they say.
    assert_eq!(cached_grains(&master, "thief")["id"], "thief");
    assert_eq!(cached_grains(&master, "thief")["role"], "evil");
    assert_eq!(cached_grains(&master, "victim")["role"], Value::Null);
    logged(&master, "for a job this minion was not sent; ignored");
    assert!(log_count(&master, BAD_FRAME) >= 2);
    drop(m1);
}

#[test]
fn a_job_replayed_to_the_minion_in_a_later_session_never_runs_again() {
    // We are the master here: the minion trusts our key on first use.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let key = KeyPair::generate().unwrap();
    let minion = Minion::start("target", port, "");
    let runs = minion.dir.path().join("runs.txt");
    let job = Job {
        jid: "20261124120000000001".parse().unwrap(),
        kind: JobKind::Run {
            fun: "cmd.run".into(),
            args: vec![json!(format!("echo ran >> {}", runs.display()))],
            kwargs: [("python_shell".to_string(), json!(true))]
                .into_iter()
                .collect(),
        },
    };
    let returned = |m: MinionMsg| match m {
        MinionMsg::Return(r) => Some(r),
        _ => None,
    };
    let (mut s1, _, _) = Sealed::accept(&listener, &key).unwrap();
    let job_frames = s1.send(&MasterMsg::Job(job.clone())).unwrap();
    let r = s1.recv_until(STEP, returned).unwrap();
    assert_eq!(r.jid, job.jid);
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "ran\n");

    // The same frames again in that session, then in the next one.
    s1.zmtp.send(&job_frames).unwrap();
    assert!(
        s1.zmtp.closed_within(CLOSED),
        "a replayed job frame was taken"
    );
    let (mut s2, _, _) = Sealed::accept(&listener, &key).unwrap();
    s2.zmtp.send(&job_frames).unwrap();
    assert!(
        s2.zmtp.closed_within(CLOSED),
        "session 1's job was taken in 2"
    );

    // The job itself, sealed anew: the minion answers from its outbox.
    let (mut s3, _, _) = Sealed::accept(&listener, &key).unwrap();
    s3.send(&MasterMsg::Job(job.clone())).unwrap();
    let again = s3.recv_until(STEP, returned).unwrap();
    assert_eq!(again, r);
    wait_until(STEP, "the minion to log the repeat", || {
        minion
            .log()
            .contains("a job id seen before; not running it again")
    });
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "ran\n");
    assert_eq!(minion.jobs_started(), vec![job.jid.to_string()]);
    assert!(
        minion.log().contains("failed to decrypt"),
        "{}",
        minion.log()
    );
}
