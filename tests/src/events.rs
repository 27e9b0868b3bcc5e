//! `master events` as a test's way to wait for something to happen: the
//! real command, subscribed to a real master, each event handed to the test
//! as it is printed. The process is killed when the stream drops.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bin;
use crate::daemons::Master;

pub struct EventStream {
    child: Child,
    events: Receiver<Value>,
    /// Every event received so far, in order.
    pub seen: Vec<Value>,
    stderr: Arc<Mutex<String>>,
}

impl EventStream {
    /// Runs `master events --out json ARGS` against `master` and waits until
    /// it is subscribed: from then on no event is missed.
    pub fn start(master: &Master, args: &[&str]) -> EventStream {
        let mut child = Command::new(bin("master"))
            .args(["events", "--out", "json", "--config"])
            .arg(master.config())
            .args(args)
            .env("BRINE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start master events");
        let (tx, events) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let v = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (said, subscribed) = channel();
        let err_pipe = child.stderr.take().unwrap();
        let text = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines() {
                let Ok(line) = line else { break };
                if line.contains("subscribed to the master's events") {
                    let _ = said.send(());
                }
                let mut t = text.lock().unwrap();
                t.push_str(&line);
                t.push('\n');
            }
        });
        let mut stream = EventStream {
            child,
            events,
            seen: Vec::new(),
            stderr,
        };
        if subscribed.recv_timeout(Duration::from_secs(30)).is_err() {
            panic!(
                "`master events` did not subscribe; its stderr:\n{}\nmaster log:\n{}",
                stream.stderr(),
                master.log()
            );
        }
        stream.seen.clear();
        stream
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the next event `pred` accepts and returns it (the events
    /// before it stay in `seen`); panics after `limit`, listing what came.
    pub fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    self.seen.push(event.clone());
                    if pred(&event) {
                        return event;
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => panic!(
                    "no event {what} within {limit:?}; seen:\n{:#?}\nstderr:\n{}",
                    self.seen,
                    self.stderr()
                ),
            }
        }
    }

    /// Waits for the next event with exactly this tag.
    pub fn wait_tag(&mut self, tag: &str, limit: Duration) -> Value {
        self.wait_for(tag, limit, |e| e["tag"] == tag)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
