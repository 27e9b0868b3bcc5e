//! The executor: runs low chunks in order with Salt's requisite semantics
//! (`State.call_chunks` / `call_chunk` / `call` / `call_listen` of salt/state.py,
//! ported in the same shape), test mode, `mod_watch` and `listen`.
//!
//! Test mode lives here, not in the modules: every state's `check` runs; its
//! `apply` runs only when not testing. Only this module creates a `HostWrite`.
mod conditions;
mod requisite;
pub mod ret;
mod retry;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use common::data::Value;
use serde_json::json;

use crate::compile::Chunk;
use crate::state::{registry, Args, Check, HostRead, HostWrite, StateError, StateModule};
pub use requisite::with_requisites;
use requisite::Status;
pub use ret::{tag, StateRet};

/// Results of a run, in the order the states ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub rets: Vec<StateRet>,
}

impl Report {
    /// Salt's `{tag: {...}}` result map, in run order.
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.rets
                .iter()
                .map(|r| (r.tag.clone(), r.to_json()))
                .collect(),
        )
    }
    /// Reads back what [`Report::to_json`] wrote (a return from a minion),
    /// in `__run_num__` order; `None` when it is not a result map.
    pub fn from_json(v: &Value) -> Option<Report> {
        let mut rets: Vec<StateRet> = v
            .as_object()?
            .iter()
            .map(|(tag, r)| StateRet::from_json(tag, r))
            .collect::<Option<_>>()?;
        rets.sort_by_key(|r| r.run_num);
        Some(Report { rets })
    }

    pub fn failed(&self) -> usize {
        self.rets.iter().filter(|r| r.result == Some(false)).count()
    }
    pub fn changed(&self) -> usize {
        self.rets.iter().filter(|r| !r.changes.is_empty()).count()
    }
    /// Whether a state changed the host or, in test mode, would.
    pub fn changed_or_pending(&self) -> bool {
        self.rets
            .iter()
            .any(|r| !r.changes.is_empty() || r.result.is_none())
    }
}

/// `--detailed-exitcode` (the flag Puppet and Terraform users know) over
/// Salt's status (0 ok, 1 could not run, 2 a state failed, 3 a minion did
/// not return): 4 when all went well but changes were made or, in test mode,
/// are pending, so a CI job can tell a clean tree from a drifted one.
pub fn detailed_exit_status(salt_status: i32, changed_or_pending: bool) -> i32 {
    if salt_status == 0 && changed_or_pending {
        4
    } else {
        salt_status
    }
}

/// Runs one compiled highstate (or SLS list) on one host.
pub struct Runner {
    modules: HashMap<&'static str, Box<dyn StateModule>>,
    host: HostRead,
    test: bool,
    chunks: Vec<Chunk>,
    running: HashMap<String, StateRet>,
    pre: HashMap<String, StateRet>,
    active: HashSet<String>,
    run_num: usize,
    failhard: bool,
}

fn flag(chunk: &Chunk, key: &str) -> bool {
    chunk.get(key).is_some_and(common::data::is_truthy)
}

impl Runner {
    pub fn new(host: HostRead, test: bool) -> Self {
        let modules = registry().into_iter().map(|m| (m.name(), m)).collect();
        Runner {
            modules,
            // file.accumulated's text lives for one run, as Salt's
            // accumulator file does (written by one chunk, read by later ones).
            host: host.for_a_run(),
            test,
            chunks: Vec::new(),
            running: HashMap::new(),
            pre: HashMap::new(),
            active: HashSet::new(),
            run_num: 0,
            failhard: false,
        }
    }

    /// `call_chunks` then `call_listen`.
    pub fn run(mut self, chunks: Vec<Chunk>) -> Report {
        let _durable_at_end = crate::state::DeferDirSyncs::start();
        self.chunks = chunks;
        for i in 0..self.chunks.len() {
            // A killed job (saltutil.kill_job) starts no further state.
            if self.failhard || crate::state::JobControl::current_killed() {
                break;
            }
            let t = tag(&self.chunks[i]);
            if !self.running.contains_key(&t) {
                self.call_chunk(i, 0);
                if self.check_failhard(i) {
                    break;
                }
            }
        }
        // Salt fires listeners even after a failhard stop.
        self.call_listen();
        let mut rets: Vec<StateRet> = self.running.into_values().collect();
        rets.sort_by_key(|r| r.run_num);
        Report { rets }
    }

    fn has_mod_watch(&self, chunk: &Chunk) -> bool {
        let state = chunk.get("state").and_then(Value::as_str).unwrap_or("");
        self.modules.get(state).is_some_and(|m| m.watchable())
    }

    fn check_failhard(&mut self, i: usize) -> bool {
        if self.test || !flag(&self.chunks[i], "failhard") {
            return false;
        }
        if self
            .running
            .get(&tag(&self.chunks[i]))
            .is_some_and(|r| r.result == Some(false))
        {
            self.failhard = true;
        }
        self.failhard
    }

    fn record(&mut self, i: usize, mut ret: StateRet, into_pre: bool) {
        // A prereq's dry pre-run returns before Salt numbers it.
        if !into_pre {
            ret.run_num = self.run_num;
            self.run_num += 1;
        }
        if ret.start_time.is_empty() {
            ret.start_time = ret::local_time_of_day();
        }
        let t = tag(&self.chunks[i]);
        if into_pre {
            self.pre.insert(t, ret);
        } else {
            self.running.insert(t, ret);
        }
    }

    /// `call_chunk`: settles requisites (running them first when needed), then runs.
    fn call_chunk(&mut self, i: usize, depth: usize) {
        let low = self.chunks[i].clone();
        let t = tag(&low);
        if !flag(&low, "prerequired") {
            self.active.insert(t.clone());
        }
        let is_prereq = flag(&low, "__prereq__");
        let (status, reqs) = requisite::check(
            &low,
            &self.chunks,
            &self.running,
            &self.pre,
            self.has_mod_watch(&low),
            !is_prereq,
        );
        match status {
            Status::Unmet => self.settle_unmet(i, depth, is_prereq),
            Status::Met => {
                let ret = self.call(i, &reqs);
                self.record(i, ret, is_prereq);
            }
            Status::Fail => {
                if let Some(pre) = self.pre.get(&t).cloned() {
                    let mut ret = pre;
                    ret.changes.clear();
                    self.record(i, ret, false);
                } else {
                    let mut failed: Vec<String> = reqs
                        .values()
                        .flatten()
                        .filter_map(|&r| {
                            let rt = tag(&self.chunks[r]);
                            let rr = self.pre.get(&rt).or(self.running.get(&rt))?;
                            (rr.result == Some(false)).then(|| format!("{}.{}", rr.sls, rr.id))
                        })
                        .collect();
                    failed.sort();
                    failed.dedup();
                    let ret = StateRet::new(
                        &low,
                        Some(false),
                        format!("One or more requisite failed: {}", failed.join(", ")),
                    );
                    self.pre.insert(t.clone(), ret.clone());
                    self.record(i, ret, false);
                }
            }
            Status::Change if !is_prereq => {
                let mut ret = self.call(i, &reqs);
                if ret.changes.is_empty() && !ret.skip_watch {
                    if let Some(watched) = self.mod_watch(i, &reqs) {
                        // Salt numbers the state's own call, then the mod_watch call.
                        self.run_num += 1;
                        ret = watched;
                    }
                }
                self.record(i, ret, false);
            }
            Status::Pre => {
                let ret = StateRet::new(&low, Some(true), "No changes detected");
                self.pre.insert(t.clone(), ret.clone());
                self.record(i, ret, false);
            }
            Status::Onfail => {
                let mut ret = StateRet::new(
                    &low,
                    Some(true),
                    "State was not run because onfail req did not change",
                );
                ret.state_ran = false;
                self.record(i, ret, false);
            }
            Status::Onchanges => {
                let mut ret = StateRet::new(
                    &low,
                    Some(true),
                    "State was not run because none of the onchanges reqs changed",
                );
                ret.state_ran = false;
                self.record(i, ret, false);
            }
            Status::Change => {
                let ret = self.call(i, &reqs);
                self.record(i, ret, is_prereq);
            }
        }
    }

    /// The "unmet" branch of `call_chunk`: run what it needs first, or report
    /// requisites that do not exist, or a cycle.
    fn settle_unmet(&mut self, i: usize, depth: usize, is_prereq: bool) {
        let low = self.chunks[i].clone();
        let t = tag(&low);
        let mut kinds: Vec<&str> = requisite::KINDS.to_vec();
        if !is_prereq {
            kinds.push("prerequired");
        }
        let mut lost: Vec<(String, String, String)> = Vec::new();
        let mut needed: Vec<usize> = Vec::new();
        for kind in &kinds {
            for (key, val) in requisite::entries(&low, kind) {
                let found: Vec<usize> = (0..self.chunks.len())
                    .filter(|&c| requisite::names(&self.chunks[c], &key, &val))
                    .collect();
                if found.is_empty() {
                    lost.push((kind.to_string(), key, val));
                }
                for c in found {
                    if *kind == "prereq" {
                        self.chunks[c].insert("__prereq__".into(), json!(true));
                    } else if *kind == "prerequired" {
                        self.chunks[c].insert("__prerequired__".into(), json!(true));
                    }
                    needed.push(c);
                }
            }
        }
        if !lost.is_empty() {
            let mut comment = String::from("The following requisites were not found:\n");
            let mut last_kind = String::new();
            for (kind, key, val) in &lost {
                if *kind != last_kind {
                    comment.push_str(&format!("{}{kind}:\n", " ".repeat(19)));
                    last_kind = kind.clone();
                }
                comment.push_str(&format!("{}{key}: {val}\n", " ".repeat(23)));
            }
            let ret = StateRet::new(&low, Some(false), comment);
            self.record(i, ret, is_prereq);
            return;
        }
        for c in needed {
            let ct = tag(&self.chunks[c]);
            if self.running.contains_key(&ct) {
                continue;
            }
            if self.active.contains(&ct) {
                if flag(&self.chunks[c], "__prerequired__") {
                    if !self.pre.contains_key(&t) {
                        self.chunks[i].insert("__prereq__".into(), json!(true));
                        let ret = self.call(i, &HashMap::new());
                        self.pre.insert(ct, ret);
                    }
                    return;
                }
                let ret = StateRet::new(&low, Some(false), "Recursive requisite found");
                self.record(i, ret, false);
                return;
            }
            self.call_chunk(c, 0);
            if self.check_failhard(c) {
                return;
            }
        }
        if flag(&self.chunks[i], "__prereq__") {
            let (status, _) = requisite::check(
                &self.chunks[i].clone(),
                &self.chunks,
                &self.running,
                &self.pre,
                self.has_mod_watch(&low),
                false,
            );
            let mut ret = self.call(i, &HashMap::new());
            if ret.changes.is_empty() && status == Status::Change {
                ret.changes.insert("watch".into(), json!("watch"));
                ret.result = None;
            }
            self.record(i, ret, true);
        } else if depth + 1 >= 20 {
            let ret = StateRet::new(&low, Some(false), "Recursive requisite found");
            self.record(i, ret, false);
        } else {
            self.call_chunk(i, depth + 1);
        }
    }

    fn module(&self, chunk: &Chunk) -> Result<&dyn StateModule, String> {
        let state = chunk.get("state").and_then(Value::as_str).unwrap_or("");
        let fun = chunk.get("fun").and_then(Value::as_str).unwrap_or("");
        let m = self.modules.get(state).ok_or_else(|| {
            format!(
                "State '{state}.{fun}' was not found in SLS '{}'",
                common::pyfmt::py_str(chunk.get("__sls__").unwrap_or(&Value::Null))
            )
        })?;
        if m.signature(fun).is_none() {
            return Err(format!(
                "State '{state}.{fun}' was not found: the {state} module has {}",
                crate::state::signatures::names(m.signatures()).join(", ")
            ));
        }
        Ok(&**m)
    }

    /// `State.call`: conditions, then check and (outside test mode, or for a
    /// prereq pre-run) apply.
    fn call(&mut self, i: usize, _reqs: &HashMap<String, Vec<usize>>) -> StateRet {
        let low = self.chunks[i].clone();
        // A prereq'd state is first run as a dry run; the flag is cleared after.
        let pre_run = flag(&low, "__prereq__");
        if pre_run {
            self.chunks[i].insert("__prereq__".into(), json!(false));
        }
        let test = self.test || pre_run;
        let started = Instant::now();
        let start_time = ret::local_time_of_day();
        let mut ret = match conditions::skip(&low, &self.host) {
            Some(skipped) => skipped,
            None => self.check_and_apply(&low, test, None),
        };
        if let Some(retry) = retry::Retry::of(&low) {
            if test {
                ret.comment = format!("{}  {}", ret.comment, retry.test_note());
            } else {
                // Salt's recursion yields "Attempt 1: …\nAttempt 2: …\n<last comment>".
                let mut earlier: Vec<String> = Vec::new();
                let mut attempt = 1;
                while ret.result != Some(retry.until) && retry.attempts > attempt {
                    std::thread::sleep(retry.wait());
                    earlier.push(format!(
                        "Attempt {attempt}: Returned a result of \"{}\", with the following comment: \"{}\"",
                        match ret.result { Some(true) => "True", Some(false) => "False", None => "None" },
                        ret.comment
                    ));
                    ret = self.check_and_apply(&low, test, None);
                    // Salt numbers every attempt.
                    self.run_num += 1;
                    attempt += 1;
                }
                if !earlier.is_empty() {
                    earlier.push(ret.comment.clone());
                    ret.comment = earlier.join("\n");
                }
            }
        }
        if !test && ret.result == Some(true) && low.contains_key("check_cmd") {
            conditions::check_cmd(&low, &mut ret);
        }
        ret.start_time = start_time;
        ret.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        ret
    }

    /// Runs a state function's check, then its apply unless testing.
    /// `watch_fun` set: run the module's mod_watch instead.
    fn check_and_apply(&self, low: &Chunk, test: bool, watch_fun: Option<&str>) -> StateRet {
        let module = match self.module(low) {
            Ok(m) => m,
            Err(e) => return StateRet::new(low, Some(false), e),
        };
        let fun = low.get("fun").and_then(Value::as_str).unwrap_or("");
        // A state of another saltenv reads its salt:// files there.
        let in_env = crate::state::sources::chunk_in_saltenv(low);
        let args = Args::new(in_env.as_ref().unwrap_or(low));
        let checked = match watch_fun {
            Some(sfun) => match module.mod_watch(sfun, &args, &self.host) {
                Some(c) => c,
                None => return StateRet::new(low, Some(true), ""),
            },
            None => module.check(fun, &args, &self.host),
        };
        let unknown = if module.signature(fun).is_some_and(|s| s.any_args) {
            vec![]
        } else {
            args.unknown()
        };
        if !unknown.is_empty() {
            return StateRet::new(
                low,
                Some(false),
                format!(
                    "Unknown argument(s) for {}.{fun}: {}",
                    module.name(),
                    unknown.join(", ")
                ),
            );
        }
        let checked = match checked {
            Ok(c) => c,
            Err(StateError::Args(e)) | Err(StateError::Host(e)) => {
                return StateRet::new(low, Some(false), e)
            }
        };
        // A dry run shows the module's test-mode wording where it has one.
        let worded = |comment: String, test_comment: Option<String>| match test_comment {
            Some(t) if test => t,
            _ => comment,
        };
        match checked {
            Check::Clean {
                comment,
                test_comment,
            } => StateRet::new(low, Some(true), worded(comment, test_comment)),
            Check::Reported {
                result,
                comment,
                changes,
            } => {
                let mut r = StateRet::new(low, Some(result), comment);
                r.changes = changes;
                r
            }
            Check::Fail {
                comment,
                test_comment,
            } => StateRet::new(low, Some(false), worded(comment, test_comment)),
            Check::Change {
                changes,
                comment,
                apply,
            } => {
                if test {
                    let mut r = StateRet::new(low, None, comment);
                    r.changes = changes;
                    return r;
                }
                let host = HostWrite::new(self.host.clone());
                match apply.apply(&host) {
                    Ok(done) => {
                        let mut r = StateRet::new(low, Some(done.result), done.comment);
                        r.changes = done.changes.unwrap_or(changes);
                        r
                    }
                    Err(e) => StateRet::new(low, Some(false), e.to_string()),
                }
            }
        }
    }

    /// `mod_watch` of a state whose watched states changed.
    fn mod_watch(&self, i: usize, reqs: &HashMap<String, Vec<usize>>) -> Option<StateRet> {
        let mut low = self.chunks[i].clone();
        let sfun = low
            .get("fun")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let changed: Vec<Value> = reqs
            .get("watch")
            .into_iter()
            .flatten()
            .filter(|&&r| {
                self.running
                    .get(&tag(&self.chunks[r]))
                    .is_some_and(|rr| !rr.changes.is_empty())
            })
            .map(|&r| {
                json!(format!(
                    "{}: {}",
                    common::pyfmt::py_str(&self.chunks[r]["state"]),
                    common::pyfmt::py_str(&self.chunks[r]["__id__"])
                ))
            })
            .collect();
        low.insert("__reqs_changed__".into(), Value::Array(changed));
        low.insert("sfun".into(), json!(sfun));
        let started = Instant::now();
        let mut ret = self.check_and_apply(&low, self.test, Some(&sfun));
        ret.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        ret.start_time = ret::local_time_of_day();
        Some(ret)
    }

    /// `call_listen`: `listen` fires the listener's mod_watch once, at the end.
    fn call_listen(&mut self) {
        let mut to_fire: Vec<usize> = Vec::new();
        for i in 0..self.chunks.len() {
            let entries = requisite::entries(&self.chunks[i], "listen");
            if entries.is_empty() {
                continue;
            }
            let fired = entries.iter().any(|(key, val)| {
                self.chunks.iter().any(|c| {
                    requisite::names(c, key, val)
                        && self
                            .running
                            .get(&tag(c))
                            .is_some_and(|r| !r.changes.is_empty())
                })
            });
            if fired && !to_fire.contains(&i) {
                to_fire.push(i);
            }
        }
        for i in to_fire {
            let mut low = self.chunks[i].clone();
            let id = common::pyfmt::py_str(&low["__id__"]);
            let sfun = low
                .get("fun")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            low.insert("__id__".into(), json!(format!("listener_{id}")));
            low.insert("sfun".into(), json!(sfun));
            low.insert("__reqs_changed__".into(), json!([]));
            let started = Instant::now();
            let mut ret = self.check_and_apply(&low, self.test, Some(&sfun));
            ret.tag = format!(
                "{}_|-listener_{id}_|-{}_|-mod_watch",
                common::pyfmt::py_str(&low["state"]),
                common::pyfmt::py_str(&low["name"])
            );
            ret.id = format!("listener_{id}");
            ret.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            ret.start_time = ret::local_time_of_day();
            ret.run_num = self.run_num;
            self.run_num += 1;
            self.running.insert(ret.tag.clone(), ret);
        }
    }
}
