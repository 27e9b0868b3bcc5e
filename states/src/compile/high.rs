//! Passes over high data, ported from Salt's `State`: `reconcile_extend`,
//! `verify_high`, `requisite_in` and `apply_exclude`. Requisites stay in the form
//! the tree wrote them; `*_in` and `prereq` add their inverse to the target, as Salt does.
use std::collections::{HashMap, HashSet};

use common::data::{Map, Value};
use common::target::fnmatch;
use serde_json::json;

pub type High = Map<String, Value>;

/// Requisites whose lists `extend` appends to instead of replacing.
const STATE_REQUISITE_KEYWORDS: &[&str] = &[
    "onchanges",
    "onchanges_any",
    "onfail",
    "onfail_any",
    "onfail_all",
    "onfail_stop",
    "prereq",
    "prerequired",
    "watch",
    "watch_any",
    "require",
    "require_any",
    "listen",
];

fn first_key(v: &Value) -> Option<&str> {
    v.as_object()
        .and_then(|m| m.keys().next())
        .map(String::as_str)
}

fn state_keys(body: &Value) -> Vec<String> {
    body.as_object()
        .map(|m| m.keys().filter(|k| !k.starts_with("__")).cloned().collect())
        .unwrap_or_default()
}

/// `find_name`: (id, state) pairs a requisite `state: name` refers to.
pub fn find_name(name: &str, state: &str, high: &High, strict: bool) -> Vec<(String, String)> {
    let check2 = !strict
        || high
            .get(name)
            .and_then(Value::as_object)
            .is_some_and(|b| b.contains_key(state));
    let mut out = Vec::new();
    if high.contains_key(name) && check2 {
        out.push((name.to_string(), state.to_string()));
    } else if state == "sls" {
        for (nid, item) in high {
            if item.get("__sls__").and_then(Value::as_str) == Some(name) {
                if let Some(first) = item.as_object().and_then(|m| m.keys().next()) {
                    out.push((nid.clone(), first.clone()));
                }
            }
        }
    } else {
        for (nid, body) in high {
            let Some(Value::Array(args)) = body.get(state) else {
                continue;
            };
            for arg in args {
                let Some(m) = arg.as_object() else { continue };
                if m.len() != 1 {
                    continue;
                }
                if m.values().next().and_then(Value::as_str) == Some(name) {
                    out.push((nid.clone(), state.to_string()));
                }
            }
        }
    }
    out
}

/// `find_sls_ids`.
fn find_sls_ids(sls: &str, high: &High) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (nid, item) in high {
        if item.get("__sls__").and_then(Value::as_str) == Some(sls) {
            for st in state_keys(item) {
                out.push((nid.clone(), st));
            }
        }
    }
    out
}

/// `state_args`: names of the single-key args given to a state.
fn state_args(id: &str, state: &str, high: &High) -> HashSet<String> {
    let mut out = HashSet::new();
    if let Some(Value::Array(args)) = high.get(id).and_then(|b| b.get(state)) {
        for a in args {
            if let Some(m) = a.as_object().filter(|m| m.len() == 1) {
                out.extend(m.keys().cloned());
            }
        }
    }
    out
}

/// `reconcile_extend`: applies `__extend__` to the high data.
pub fn reconcile_extend(high: &mut High, strict: bool, errors: &mut Vec<String>) {
    let Some(Value::Array(ext)) = high.shift_remove("__extend__") else {
        return;
    };
    for ext_chunk in ext {
        let Value::Object(ext_chunk) = ext_chunk else {
            continue;
        };
        for (name, body) in ext_chunk {
            let Some(bmap) = body.as_object() else {
                continue;
            };
            let Some(state_type) = bmap.keys().find(|k| !k.starts_with("__")).cloned() else {
                continue;
            };
            let mut name = name;
            let present = high
                .get(&name)
                .and_then(Value::as_object)
                .is_some_and(|b| b.contains_key(&state_type));
            if !present {
                let ids = find_name(&name, &state_type, high, strict);
                if ids.len() != 1 {
                    let env = bmap
                        .get("__env__")
                        .and_then(Value::as_str)
                        .unwrap_or("base");
                    let sls = bmap
                        .get("__sls__")
                        .and_then(Value::as_str)
                        .unwrap_or("base");
                    errors.push(format!(
                        "Cannot extend ID '{name}' in '{env}:{sls}'. It is not part of the high state.\nThis is likely due to a missing include statement or an incorrectly typed ID.\nEnsure that a state with an ID of '{name}' is available\nin environment '{env}' and to SLS '{sls}'"
                    ));
                    continue;
                }
                name = ids[0].0.clone();
            }
            let sls_excludes: Vec<String> = high
                .get("__exclude__")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|e| {
                            e.as_str().map(str::to_string).or_else(|| {
                                e.get("sls").and_then(Value::as_str).map(str::to_string)
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            if bmap
                .get("__sls__")
                .and_then(Value::as_str)
                .is_some_and(|s| sls_excludes.iter().any(|x| x == s))
            {
                continue;
            }
            let Some(target) = high.get_mut(&name).and_then(Value::as_object_mut) else {
                continue;
            };
            for (state, run) in bmap {
                if state.starts_with("__") {
                    continue;
                }
                let Some(existing) = target.get_mut(state) else {
                    target.insert(state.clone(), run.clone());
                    continue;
                };
                let (Value::Array(cur), Value::Array(run)) = (existing, run) else {
                    continue;
                };
                for arg in run {
                    let mut update = false;
                    for slot in cur.iter_mut() {
                        if arg.is_string() && slot.is_string() {
                            *slot = arg.clone();
                            update = true;
                            continue;
                        }
                        if arg.is_object() && slot.is_object() {
                            let argfirst = first_key(arg).unwrap_or_default().to_string();
                            if Some(argfirst.as_str()) == first_key(slot) {
                                if STATE_REQUISITE_KEYWORDS.contains(&argfirst.as_str()) {
                                    if let (Some(Value::Array(dst)), Some(Value::Array(src))) =
                                        (slot.get_mut(&argfirst), arg.get(&argfirst))
                                    {
                                        dst.extend(src.iter().cloned());
                                    }
                                } else {
                                    *slot = arg.clone();
                                }
                                update = true;
                            }
                            if argfirst == "name" && first_key(slot) == Some("names") {
                                *slot = arg.clone();
                            }
                        }
                    }
                    if !update {
                        cur.push(arg.clone());
                    }
                }
            }
        }
    }
}

/// `apply_exclude`.
pub fn apply_exclude(high: &mut High) {
    let Some(Value::Array(exclude)) = high.shift_remove("__exclude__") else {
        return;
    };
    let mut ex_sls = Vec::new();
    let mut ex_id = Vec::new();
    for exc in exclude {
        match exc {
            Value::String(s) => ex_sls.push(s),
            Value::Object(m) if m.len() == 1 => {
                let (k, v) = m.into_iter().next().expect("len 1");
                let v = v.as_str().map(str::to_string).unwrap_or_default();
                match k.as_str() {
                    "sls" => ex_sls.push(v),
                    "id" => ex_id.push(v),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    for (name, body) in high.iter() {
        if name.starts_with("__") {
            continue;
        }
        let sls = body.get("__sls__").and_then(Value::as_str).unwrap_or("");
        if !sls.is_empty() && ex_sls.iter().any(|p| fnmatch(sls, p)) {
            ex_id.push(name.clone());
        }
    }
    for id in ex_id {
        high.shift_remove(&id);
    }
}

/// `verify_high`: structural checks, Salt's messages.
pub fn verify_high(high: &High) -> Vec<String> {
    let mut errors = Vec::new();
    let mut reqs: HashMap<String, Map<String, Value>> = HashMap::new();
    for (name, body) in high {
        if name.starts_with("__") {
            continue;
        }
        let Some(b) = body.as_object() else {
            errors.push(format!(
                "The type {name} in {body} is not formatted as a dictionary"
            ));
            continue;
        };
        let sls = b.get("__sls__").and_then(Value::as_str).unwrap_or("");
        for (state, run) in b {
            if state.starts_with("__") {
                continue;
            }
            if run.is_null() {
                errors.push(format!("ID '{name}' in SLS '{sls}' contains a short declaration ({state}) with a trailing colon. When not passing any arguments to a state, the colon must be omitted."));
                continue;
            }
            let Some(args) = run.as_array() else {
                errors.push(format!(
                    "State '{name}' in SLS '{sls}' is not formed as a list"
                ));
                continue;
            };
            let mut fun = usize::from(state.contains('.'));
            for arg in args {
                if let Some(s) = arg.as_str() {
                    fun += 1;
                    if s.trim().contains(' ') {
                        errors.push(format!("The function \"{s}\" in state \"{name}\" in SLS \"{sls}\" has whitespace, a function with whitespace is not supported, perhaps this is an argument that is missing a \":\""));
                    }
                    continue;
                }
                let Some(m) = arg.as_object() else { continue };
                let Some(argfirst) = m.keys().next() else {
                    continue;
                };
                if argfirst == "names" && !m[argfirst].is_array() {
                    errors.push(format!("The 'names' argument in state '{name}' in SLS '{sls}' needs to be formed as a list"));
                }
                if ["require", "watch", "prereq", "onchanges"].contains(&argfirst.as_str()) {
                    match m[argfirst].as_array() {
                        None => errors.push(format!("The {argfirst} statement in state '{name}' in SLS '{sls}' needs to be formed as a list")),
                        Some(list) => {
                            let mut entry = Map::new();
                            entry.insert("state".into(), json!(state));
                            reqs.insert(name.clone(), entry);
                            for req in list {
                                let req = match req {
                                    Value::String(s) => json!({ "id": s }),
                                    other => other.clone(),
                                };
                                let Some(rm) = req.as_object().filter(|m| !m.is_empty()) else {
                                    errors.push(format!("Requisite declaration {req} in SLS {sls} is not formed as a single key dictionary"));
                                    continue;
                                };
                                let (req_key, req_val) = rm.iter().next().expect("non-empty");
                                if req_key.contains('.') {
                                    errors.push(format!("Invalid requisite type '{req_key}' in state '{name}', in SLS '{sls}'. Requisite types must not contain dots, did you mean '{}'?", &req_key[..req_key.find('.').unwrap_or(0)]));
                                }
                                let Some(req_val) = hashable_key(req_val) else {
                                    errors.push(format!("Illegal requisite \"{req_val}\", please check your syntax.\n"));
                                    continue;
                                };
                                if let Some(r) = reqs.get_mut(name) {
                                    r.insert(req_val.clone(), json!(req_key));
                                }
                                if let Some(other) = reqs.get(&req_val) {
                                    if other.get(name).and_then(Value::as_str) == Some(state.as_str())
                                        && other.get("state") == reqs.get(name).and_then(|r| r.get(&req_val))
                                    {
                                        errors.push(format!("A recursive requisite was found, SLS \"{sls}\" ID \"{name}\" ID \"{req_val}\""));
                                    }
                                }
                            }
                        }
                    }
                    if m.len() != 1 {
                        errors.push(format!("Multiple dictionaries defined in argument of state '{name}' in SLS '{sls}'"));
                    }
                }
            }
            if fun == 0 {
                if state == "require" || state == "watch" {
                    continue;
                }
                errors.push(format!(
                    "No function declared in state '{name}' in SLS '{sls}'"
                ));
            } else if fun > 1 {
                let mut funs: Vec<String> = state
                    .split_once('.')
                    .map(|(_, f)| vec![f.to_string()])
                    .unwrap_or_default();
                funs.extend(args.iter().filter_map(|a| a.as_str().map(str::to_string)));
                errors.push(format!("Too many functions declared in state '{name}' in SLS '{sls}'. Please choose one of the following: {}", funs.join(", ")));
            }
        }
    }
    errors
}

/// Python-hashable requisite values, as the string key Salt's dict would use.
fn hashable_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
        Value::Null => Some("None".into()),
        _ => None,
    }
}

/// `requisite_in`: turns `*_in`, `prereq` and `use` into entries on the other side.
pub fn requisite_in(high: &mut High, errors: &mut Vec<String>) {
    const REQ_IN: &[&str] = &[
        "require_in",
        "watch_in",
        "onfail_in",
        "onchanges_in",
        "use",
        "use_in",
        "prereq",
        "prereq_in",
    ];
    const REQ_IN_ALL_EXTRA: &[&str] = &["require", "watch", "onfail", "onfail_stop", "onchanges"];
    let mut extend: Map<String, Value> = Map::new();
    // Salt reads the high data while collecting `extend`, and applies it only
    // afterwards, so a shared borrow serves (no copy of the whole tree).
    let snapshot: &High = high;
    for (id, body) in snapshot {
        let Some(b) = body.as_object() else { continue };
        let body_env = b.get("__env__").cloned().unwrap_or(Value::Null);
        let body_sls = b.get("__sls__").cloned().unwrap_or(Value::Null);
        for (state, run) in b {
            if state.starts_with("__") {
                continue;
            }
            let Some(args) = run.as_array() else { continue };
            for arg in args {
                let Some(m) = arg.as_object() else { continue };
                let Some(key) = m.keys().next() else { continue };
                if !REQ_IN.contains(&key.as_str()) {
                    continue;
                }
                let rkey = key.split('_').next().unwrap_or(key).to_string();
                let items = &m[key];
                let add_rkey = |extend: &mut Map<String, Value>, name: &str, st: &str| {
                    let e = extend.entry(name.to_string()).or_insert_with(|| json!({}));
                    let em = e.as_object_mut().expect("made as object");
                    if !em.contains_key(st) {
                        em.insert(st.to_string(), json!([]));
                    }
                    em.insert("__env__".into(), body_env.clone());
                    em.insert("__sls__".into(), body_sls.clone());
                    let list = em
                        .get_mut(st)
                        .and_then(Value::as_array_mut)
                        .expect("made as array");
                    let mut found = false;
                    for entry in list.iter_mut() {
                        if first_key(entry) == Some(rkey.as_str()) {
                            if let Some(Value::Array(l)) = entry.get_mut(&rkey) {
                                l.push(json!({ state.clone(): id }));
                            }
                            found = true;
                        }
                    }
                    if !found {
                        list.push(json!({ rkey.clone(): [{ state.clone(): id }] }));
                    }
                };
                if let Some(single) = items.as_object() {
                    for (st, name) in single {
                        let name = hashable_key(name).unwrap_or_default();
                        let mut st = st.clone();
                        if st.contains('.') {
                            errors.push(format!("Invalid requisite in {rkey}: {st} for {name}, in SLS '{}'. Requisites must not contain dots, did you mean '{}'?", body_sls.as_str().unwrap_or(""), &st[..st.find('.').unwrap_or(0)]));
                            st = st.split('.').next().unwrap_or_default().to_string();
                        }
                        add_rkey(&mut extend, &name, &st);
                    }
                }
                let Some(list) = items.as_array() else {
                    continue;
                };
                let mut hinges: Vec<(String, String)> = Vec::new();
                for ind in list {
                    let ind = match ind {
                        Value::Object(_) => ind.clone(),
                        other => {
                            let s = hashable_key(other).unwrap_or_default();
                            if let Some(st) = snapshot
                                .get(&s)
                                .map(state_keys)
                                .and_then(|k| k.into_iter().next())
                            {
                                json!({ st: s })
                            } else {
                                let mut found = None;
                                for (nid, nb) in snapshot {
                                    for st8 in state_keys(nb) {
                                        for j in nb[&st8].as_array().into_iter().flatten() {
                                            if j.get("name").and_then(Value::as_str)
                                                == Some(s.as_str())
                                            {
                                                found = Some(json!({ st8.clone(): nid }));
                                            }
                                        }
                                    }
                                }
                                match found {
                                    Some(f) => f,
                                    None => continue,
                                }
                            }
                        }
                    };
                    let Some((pstate, pname)) = ind.as_object().and_then(|m| m.iter().next())
                    else {
                        continue;
                    };
                    let pname = hashable_key(pname).unwrap_or_default();
                    if pstate == "sls" {
                        hinges = find_sls_ids(&pname, snapshot);
                    } else {
                        hinges.push((pname.clone(), pstate.clone()));
                    }
                    if pstate.contains('.') {
                        errors.push(format!("Invalid requisite in {rkey}: {pstate} for {pname}, in SLS '{}'. Requisites must not contain dots, did you mean '{}'?", body_sls.as_str().unwrap_or(""), &pstate[..pstate.find('.').unwrap_or(0)]));
                    }
                    for (name, st) in hinges.clone() {
                        if key == "prereq_in" {
                            push_arg(
                                &mut extend,
                                id,
                                state,
                                json!({ "prerequired": [{ st.clone(): name }] }),
                            );
                        }
                        if key == "prereq" {
                            for (ext_id, req_state) in find_name(&name, &st, snapshot, true) {
                                push_arg(
                                    &mut extend,
                                    &ext_id,
                                    &req_state,
                                    json!({ "prerequired": [{ state.clone(): id }] }),
                                );
                            }
                            continue;
                        }
                        if key == "use_in" {
                            for (ext_id, req_state) in find_name(&name, &st, snapshot, true) {
                                if ext_id.is_empty() {
                                    continue;
                                }
                                let ext_args = state_args(&ext_id, &st, snapshot);
                                ensure_state(&mut extend, &ext_id, &req_state);
                                for a in args {
                                    if let Some(k) = single_key(a) {
                                        if REQ_IN.contains(&k)
                                            || REQ_IN_ALL_EXTRA.contains(&k)
                                            || ext_args.contains(k)
                                            || k == "name"
                                            || k == "names"
                                        {
                                            continue;
                                        }
                                        push_arg(&mut extend, &ext_id, &req_state, a.clone());
                                    }
                                }
                            }
                            continue;
                        }
                        if key == "use" {
                            for (ext_id, req_state) in find_name(&name, &st, snapshot, true) {
                                if ext_id.is_empty() {
                                    continue;
                                }
                                let loc_args = state_args(id, state, snapshot);
                                ensure_state(&mut extend, id, state);
                                let src = snapshot
                                    .get(&ext_id)
                                    .and_then(|b| b.get(&req_state))
                                    .and_then(Value::as_array)
                                    .cloned()
                                    .unwrap_or_default();
                                for a in &src {
                                    if let Some(k) = single_key(a) {
                                        if REQ_IN.contains(&k)
                                            || REQ_IN_ALL_EXTRA.contains(&k)
                                            || loc_args.contains(k)
                                            || k == "name"
                                            || k == "names"
                                        {
                                            continue;
                                        }
                                        push_arg(&mut extend, id, state, a.clone());
                                    }
                                }
                            }
                            continue;
                        }
                        add_rkey(&mut extend, &name, &st);
                    }
                }
            }
        }
    }
    let ext_list: Vec<Value> = extend.into_iter().map(|(k, v)| json!({ k: v })).collect();
    high.insert("__extend__".into(), Value::Array(ext_list));
    reconcile_extend(high, true, errors);
}

fn single_key(v: &Value) -> Option<&str> {
    v.as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.keys().next())
        .map(String::as_str)
}

fn ensure_state(extend: &mut Map<String, Value>, id: &str, state: &str) {
    let e = extend.entry(id.to_string()).or_insert_with(|| json!({}));
    if let Some(m) = e.as_object_mut() {
        m.entry(state.to_string()).or_insert_with(|| json!([]));
    }
}

fn push_arg(extend: &mut Map<String, Value>, id: &str, state: &str, arg: Value) {
    ensure_state(extend, id, state);
    if let Some(Value::Array(l)) = extend.get_mut(id).and_then(|e| e.get_mut(state)) {
        l.push(arg);
    }
}
