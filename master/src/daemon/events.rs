//! The master's event bus (`master events`): what happens on the master as
//! Salt's events, with Salt's tags and data (`salt/job/<jid>/new`,
//! `salt/job/<jid>/ret/<id>`, `salt/auth`, `salt/minion/<id>/start`,
//! `salt/key`), each stamped with `_stamp` as Salt's `fire_event` does.
//!
//! Each subscriber (an operator session) has its own bounded queue: firing
//! never waits, and an event that finds a subscriber's queue full is dropped
//! for that subscriber and counted; it then first reads a
//! `brine/events/dropped` event saying how many. The operator pulls batches
//! (`OpRequest::Events` each time), so the master never has more than one
//! batch in flight to a subscriber however slowly it reads: a stalled
//! subscriber costs at most its queue, never the master's time.
//!
//! Where Brine differs from Salt's data: `salt/auth`'s `pub` is the key as
//! its `.pub` file holds it (base64 X25519; Salt's is PEM) and `fingerprint`
//! is added; `salt/minion/<id>/start` is fired by the master when it admits
//! the session (Salt's minion fires it itself on connecting); an `arg` names
//! a command-line `pillar=` by `pillar_keys` only.
//!
//! Nothing is built when nobody subscribes. Returns are fired after the job
//! cache recorded them, with what the job cache holds (decrypted pillar
//! already hidden as `<secret KEY:PATH>`), and a command-line `pillar=` is
//! named by its keys only, as the job cache records it.
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use common::data::{Map, Value};
use common::target::fnmatch;
use serde_json::json;
use tokio::sync::Notify;
use transport::keys::PublicKey;
use transport::wire::{Admission, Event, Jid, JobReturn, OpReply};

use super::Master;
use crate::jobcache::{asctime, iso_stamp, now_micros, NewReturn};
use crate::listener::OperatorPeer;

/// Events held for a subscriber that asked for no particular queue size.
pub const DEFAULT_QUEUE: usize = 10_000;
/// The most events any subscriber may have held for it.
pub const MAX_QUEUE: usize = 100_000;
/// A batch stops growing past this many bytes of JSON (one event at least).
const BATCH_BYTES: usize = 1 << 20;
/// An event's data past this size has its `return` replaced by a note:
/// a batch must stay under the wire's message limit.
const MAX_EVENT_BYTES: usize = 16 << 20;
/// The tag of the event that counts what a full queue dropped.
pub const DROPPED_TAG: &str = "brine/events/dropped";

#[derive(Default)]
pub struct EventBus {
    /// By operator session serial.
    subscribers: RwLock<HashMap<u64, Arc<Subscription>>>,
}

pub struct Subscription {
    tag: Option<String>,
    capacity: usize,
    queue: Mutex<Queue>,
    ready: Notify,
    /// A pull is waiting: a second one on the session is ignored.
    pulling: AtomicBool,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<(Arc<Event>, usize)>,
    dropped: u64,
}

impl EventBus {
    /// Whether anyone listens (hooks build nothing otherwise).
    pub fn active(&self) -> bool {
        !self.subscribers.read().unwrap().is_empty()
    }

    /// The subscription of operator session `serial`, made on its first
    /// request (then true).
    fn subscribe(&self, serial: u64, tag: Option<String>, queue: u32) -> (Arc<Subscription>, bool) {
        let capacity = match queue as usize {
            0 => DEFAULT_QUEUE,
            n => n.min(MAX_QUEUE),
        };
        let mut subscribers = self.subscribers.write().unwrap();
        if let Some(s) = subscribers.get(&serial) {
            return (s.clone(), false);
        }
        let s = Arc::new(Subscription {
            tag,
            capacity,
            queue: Mutex::new(Queue::default()),
            ready: Notify::new(),
            pulling: AtomicBool::new(false),
        });
        subscribers.insert(serial, s.clone());
        (s, true)
    }

    /// Forgets the subscription of a closed operator session.
    pub fn unsubscribe(&self, serial: u64) {
        self.subscribers.write().unwrap().remove(&serial);
    }

    /// Hands an event to every subscriber whose tag glob matches it; never
    /// waits.
    pub fn fire(&self, tag: String, mut data: Value) {
        let subscribers = self.subscribers.read().unwrap();
        if subscribers.is_empty() {
            return;
        }
        let matching: Vec<&Arc<Subscription>> = subscribers
            .values()
            .filter(|s| s.tag.as_deref().is_none_or(|g| fnmatch(&tag, g)))
            .collect();
        if matching.is_empty() {
            return;
        }
        if let Value::Object(m) = &mut data {
            m.insert("_stamp".into(), Value::String(iso_stamp(now_micros())));
        }
        let mut size = serde_json::to_vec(&data).map_or(0, |v| v.len()) + tag.len();
        if size > MAX_EVENT_BYTES {
            if let Some(ret) = data.get_mut("return") {
                *ret = Value::String(format!(
                    "<a return of {size} bytes is too large for the event bus: see `master jobs show`>"
                ));
                size = serde_json::to_vec(&data).map_or(0, |v| v.len()) + tag.len();
            }
        }
        let event = Arc::new(Event { tag, data });
        for s in matching {
            let mut q = s.queue.lock().unwrap();
            if q.events.len() < s.capacity {
                q.events.push_back((event.clone(), size));
            } else {
                q.dropped += 1;
            }
            drop(q);
            s.ready.notify_one();
        }
    }

    /// `salt/job/<jid>/new`, when a job is recorded and before it is sent.
    pub fn job_new(&self, job: &crate::jobcache::JobRecord) {
        if !self.active() {
            return;
        }
        let data = json!({
            "jid": job.jid.as_str(),
            "tgt_type": job.tgt_type,
            "tgt": job.target,
            "user": job.operator,
            "fun": job.function,
            "arg": salt_args(&job.args),
            "minions": job.expected,
            "missing": [],
        });
        self.fire(format!("salt/job/{}/new", job.jid), data);
    }

    /// `salt/job/<jid>/ret/<id>` for each return, as the job cache recorded it.
    pub fn job_returns(
        &self,
        jid: &Jid,
        fun: &str,
        record_args: &Value,
        returns: &[(String, JobReturn)],
    ) {
        if !self.active() {
            return;
        }
        let fun_args = salt_args(record_args);
        for (id, ret) in returns {
            let data = json!({
                "cmd": "_return",
                "id": id,
                "jid": jid.as_str(),
                "fun": fun,
                "fun_args": fun_args,
                "return": ret.ret,
                "retcode": ret.retcode,
                "success": ret.success,
            });
            self.fire(format!("salt/job/{jid}/ret/{id}"), data);
        }
    }

    /// `salt/auth`: a minion's handshake and the master's verdict on its key.
    pub fn auth(&self, id: &str, key: &PublicKey, verdict: &Admission) {
        if !self.active() {
            return;
        }
        let (act, result) = match verdict {
            Admission::Accepted => ("accept", true),
            Admission::Pending => ("pend", true),
            Admission::Refused { .. } => ("reject", false),
        };
        let data = json!({
            "result": result,
            "act": act,
            "id": id,
            "pub": key.to_base64(),
            "fingerprint": key.fingerprint(),
        });
        self.fire("salt/auth".into(), data);
    }

    /// `salt/minion/<id>/start`: a minion's session was admitted (Salt's
    /// minion fires it when it connects; here the master does, for it).
    pub fn minion_start(&self, id: &str) {
        if !self.active() {
            return;
        }
        let tag = format!("salt/minion/{id}/start");
        let data = json!({
            "cmd": "_minion_event",
            "id": id,
            "pretag": null,
            "data": format!("Minion {id} started at {}", asctime(now_micros())),
            "tag": tag,
        });
        self.fire(tag, data);
    }

    /// `salt/key`: a key operation done (`act`: accept, reject or delete).
    pub fn key(&self, act: &str, ids: &[String]) {
        if !self.active() {
            return;
        }
        for id in ids {
            self.fire(
                "salt/key".into(),
                json!({"result": true, "act": act, "id": id}),
            );
        }
    }
}

impl Subscription {
    /// The next batch: what is queued now, else what comes within
    /// `KEEPALIVE` (an empty batch tells the operator the master is there).
    async fn next_batch(&self) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + super::KEEPALIVE;
        loop {
            if let Some(batch) = self.take() {
                return batch;
            }
            // `notify_one` keeps a permit when nobody waits: no wake-up is lost
            // between `take` and here.
            if tokio::time::timeout_at(deadline, self.ready.notified())
                .await
                .is_err()
            {
                return self.take().unwrap_or_default();
            }
        }
    }

    fn take(&self) -> Option<Vec<Event>> {
        let mut q = self.queue.lock().unwrap();
        if q.events.is_empty() && q.dropped == 0 {
            return None;
        }
        let mut batch = Vec::new();
        if q.dropped > 0 {
            let mut data = Map::new();
            data.insert("dropped".into(), json!(q.dropped));
            data.insert("queue".into(), json!(self.capacity));
            data.insert("_stamp".into(), json!(iso_stamp(now_micros())));
            batch.push(Event {
                tag: DROPPED_TAG.into(),
                data: Value::Object(data),
            });
            q.dropped = 0;
        }
        let mut bytes = 0;
        while let Some((_, size)) = q.events.front() {
            if !batch.is_empty() && bytes + size > BATCH_BYTES {
                break;
            }
            bytes += size;
            let (event, _) = q.events.pop_front().expect("a front event");
            batch.push((*event).clone());
        }
        Some(batch)
    }

    /// Events a full send queue could not take: counted as dropped.
    fn lost(&self, n: usize) {
        self.queue.lock().unwrap().dropped += n as u64;
    }
}

/// Serves one `OpRequest::Events` of an operator session: subscribes on the
/// first, answers each with the next batch.
pub async fn serve(
    master: Arc<Master>,
    operator: String,
    peer: Arc<OperatorPeer>,
    tag: Option<String>,
    queue: u32,
) {
    // Events show every minion's returns and keys: the ACL's `events`
    // function on every target (`'*'`), as `jobs` is.
    if !master.allows(&operator, "*", "events") {
        tracing::warn!(operator = %operator, "refused events by the ACL");
        let _ = peer.send(&OpReply::Reply(Err(format!(
            "operator {operator} may not run events"
        ))));
        return;
    }
    let (sub, new) = master.events.subscribe(peer.serial, tag, queue);
    if sub.pulling.swap(true, Ordering::SeqCst) {
        return;
    }
    // The first answer comes at once: the operator knows it is subscribed.
    let batch = if new {
        Vec::new()
    } else {
        sub.next_batch().await
    };
    sub.pulling.store(false, Ordering::SeqCst);
    let n = batch.len();
    if peer.send(&OpReply::Events(batch)).is_err() {
        sub.lost(n);
    }
}

/// Salt's `arg` list of a job from the arguments the job cache records: the
/// positional arguments, then the keyword ones as one map marked
/// `__kwarg__` (a command-line `pillar=` as `pillar_keys`, never its values).
pub fn salt_args(recorded: &Value) -> Value {
    let mut arg = Vec::new();
    let mut kwargs = Map::new();
    if let Some(args) = recorded.get("args").and_then(Value::as_array) {
        arg.extend(args.iter().cloned());
        if let Some(kw) = recorded.get("kwargs").and_then(Value::as_object) {
            kwargs.extend(kw.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    } else {
        let sls: Vec<&str> = recorded
            .get("sls")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !sls.is_empty() {
            arg.push(Value::String(sls.join(",")));
        }
        if recorded.get("test") == Some(&Value::Bool(true)) {
            kwargs.insert("test".into(), Value::Bool(true));
        }
    }
    if let Some(keys) = recorded.get("pillar_keys") {
        kwargs.insert("pillar_keys".into(), keys.clone());
    }
    if !kwargs.is_empty() {
        kwargs.insert("__kwarg__".into(), Value::Bool(true));
        arg.push(Value::Object(kwargs));
    }
    Value::Array(arg)
}

/// `salt/job/<jid>/ret/<id>` for returns recorded after their publish
/// stopped waiting (as the job cache recorded them: redacted).
pub fn late_returns(master: &Master, jid: &Jid, returns: &[NewReturn<'_>]) {
    if returns.is_empty() || !master.events.active() {
        return;
    }
    let known = master
        .jobs
        .lock()
        .unwrap()
        .function_and_args(jid)
        .ok()
        .flatten();
    let (fun, args) = known.unwrap_or_default();
    let rets: Vec<(String, JobReturn)> = returns
        .iter()
        .map(|r| {
            let ret = JobReturn {
                jid: jid.clone(),
                success: r.success,
                retcode: r.retcode,
                ret: r.ret.clone(),
            };
            (r.minion.to_string(), ret)
        })
        .collect();
    master.events.job_returns(jid, &fun, &args, &rets);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus_with(serial: u64, tag: Option<&str>, queue: u32) -> (EventBus, Arc<Subscription>) {
        let bus = EventBus::default();
        let (sub, _) = bus.subscribe(serial, tag.map(String::from), queue);
        (bus, sub)
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_says_so_first() {
        let (bus, sub) = bus_with(1, None, 2);
        for i in 0..5 {
            bus.fire("salt/key".into(), json!({"i": i}));
        }
        let batch = sub.take().unwrap();
        let tags: Vec<&str> = batch.iter().map(|e| e.tag.as_str()).collect();
        assert_eq!(tags, [DROPPED_TAG, "salt/key", "salt/key"]);
        assert_eq!(batch[0].data["dropped"], 3);
        assert_eq!(batch[1].data["i"], 0);
        assert_eq!(batch[2].data["i"], 1);
        assert!(batch[1].data["_stamp"].is_string());
        assert!(sub.take().is_none());
    }

    #[test]
    fn a_tag_glob_filters_per_subscriber() {
        let bus = EventBus::default();
        let (jobs, _) = bus.subscribe(1, Some("salt/job/*".into()), 0);
        let (all, new) = bus.subscribe(2, None, 0);
        assert!(new);
        assert!(!bus.subscribe(2, None, 0).1);
        bus.fire("salt/key".into(), json!({}));
        bus.fire("salt/job/1/new".into(), json!({}));
        assert_eq!(jobs.take().unwrap().len(), 1);
        assert_eq!(all.take().unwrap().len(), 2);
        bus.unsubscribe(1);
        bus.unsubscribe(2);
        assert!(!bus.active());
    }

    #[test]
    fn salt_args_of_recorded_arguments() {
        let run = json!({"args": ["a"], "kwargs": {"b": 1}, "pillar_keys": ["p"]});
        assert_eq!(
            salt_args(&run),
            json!(["a", {"b": 1, "pillar_keys": ["p"], "__kwarg__": true}])
        );
        assert_eq!(salt_args(&json!({"args": [], "kwargs": {}})), json!([]));
        let apply = json!({"sls": ["web", "db"], "test": true});
        assert_eq!(
            salt_args(&apply),
            json!(["web,db", {"test": true, "__kwarg__": true}])
        );
        assert_eq!(salt_args(&json!({"sls": [], "test": false})), json!([]));
    }
}
