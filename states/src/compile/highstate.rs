//! Rendering SLS files into high data: Salt's `render_state`, `_handle_*`,
//! `merge_included_states` and `render_highstate`, in the same order, so IDs,
//! `order` numbers and `__sls_included_from__` come out as Salt gives them.
use std::collections::{HashMap, HashSet};

use common::data::{Map, Value};
use common::render::{Renderer, Session};
use common::saltenvs::{env_vars, not_configured, Saltenvs};
use serde_json::json;

use common::top::{self, Matches};
use common::tree_error::TreeError as CompileError;

/// The first automatic `order` Salt hands out (`HighState.iorder`).
const FIRST_IORDER: i64 = 10000;

/// Renders SLS files for one minion into high data, each from its saltenv.
pub struct HighBuilder<'a> {
    saltenvs: &'a Saltenvs,
    session: &'a Session,
    iorder: i64,
    /// Each saltenv's SLS names, listed when a glob first needs them.
    avail: HashMap<String, Option<Vec<String>>>,
    mods: HashSet<String>,
    pub errors: Vec<CompileError>,
}

fn tree_err(msg: String) -> CompileError {
    CompileError::Tree(msg)
}

fn as_obj(v: &mut Value) -> Option<&mut Map<String, Value>> {
    v.as_object_mut()
}

impl<'a> HighBuilder<'a> {
    pub fn new(saltenvs: &'a Saltenvs, session: &'a Session) -> Self {
        HighBuilder {
            saltenvs,
            session,
            iorder: FIRST_IORDER,
            avail: HashMap::new(),
            mods: HashSet::new(),
            errors: Vec::new(),
        }
    }

    fn renderer(&self, saltenv: &str) -> Option<&'a Renderer> {
        self.saltenvs.get(saltenv).map(|r| &**r)
    }

    /// `fnmatch.filter(self.avail[saltenv], pattern)`, without listing the
    /// tree for plain names; nothing in a saltenv that is not configured.
    fn filter_avail(&mut self, saltenv: &str, pattern: &str) -> Vec<String> {
        let Some(renderer) = self.renderer(saltenv) else {
            return Vec::new();
        };
        let avail = self.avail.entry(saltenv.to_string()).or_default();
        top::filter_avail(renderer, avail, pattern)
    }

    /// `render_highstate`: every matched SLS, merged into one high data map.
    pub fn render_highstate(&mut self, matches: &Matches) -> Map<String, Value> {
        let mut high = Map::new();
        for (saltenv, states) in matches {
            for sls_match in states {
                if !self.saltenvs.contains(saltenv) {
                    self.errors.push(tree_err(not_configured(saltenv)));
                }
                let mut files = self.filter_avail(saltenv, sls_match);
                if files.is_empty() {
                    files.push(sls_match.clone());
                }
                for sls in files {
                    if self.mods.contains(&format!("{saltenv}:{sls}")) {
                        continue;
                    }
                    let before = self.errors.len();
                    let state = self.render_state(&sls, saltenv, Some(matches));
                    if !state.is_empty() {
                        self.merge_included_states(&mut high, state);
                    }
                    // Salt rewords a missing top-level SLS as "No matching sls
                    // found"; we also say where top.sls names it.
                    let missing = format!("SLS {sls_match} in saltenv");
                    if self.errors[before..].iter().any(|e| matches!(e, CompileError::Tree(m) if m.contains("is not available") && m.contains(&missing))) {
                        let at = self.top_location(saltenv, sls_match).map(|at| format!(" (named in {at})")).unwrap_or_default();
                        for err in &mut self.errors[before..] {
                            if let CompileError::Tree(msg) = err {
                                if msg.contains("is not available") && msg.contains(&missing) {
                                    *msg = format!("No matching sls found for '{sls_match}' in env '{saltenv}'{at}");
                                }
                            }
                        }
                    }
                }
            }
        }
        clean_duplicate_extends(&mut high);
        high
    }

    /// `render_state`: one SLS and, recursively, what it includes.
    pub fn render_state(
        &mut self,
        sls: &str,
        saltenv: &str,
        matches: Option<&Matches>,
    ) -> Map<String, Value> {
        let renderer = self.renderer(saltenv);
        let resolved = renderer.and_then(|r| r.resolve_sls(sls));
        let mut rendered = None;
        match (&resolved, renderer) {
            (Some((file, _)), Some(renderer)) => {
                let vars = env_vars(saltenv, None);
                match renderer.render_sls_with(self.session, file, Some(sls), Some(&vars)) {
                    Ok(v) => rendered = Some(v),
                    Err(e) => self.errors.push(CompileError::Render(e)),
                }
                self.mods.insert(format!("{saltenv}:{sls}"));
            }
            _ => self.errors.push(tree_err(format!(
                "Specified SLS {sls} in saltenv {saltenv} is not available on the salt master or through a configured fileserver"
            ))),
        }
        let is_init = resolved.as_ref().is_some_and(|(_, init)| *init);
        let mut state = match rendered {
            Some(Value::Object(map)) if !map.is_empty() => map,
            Some(v) if common::data::is_truthy(&v) => {
                self.errors.push(tree_err(format!(
                    "SLS {sls} does not render to a dictionary"
                )));
                return Map::new();
            }
            _ => return Map::new(),
        };
        let mut include = Vec::new();
        if let Some(inc) = state.get("include") {
            match inc {
                Value::Array(items) => {
                    include = items.clone();
                    state.shift_remove("include");
                }
                _ => self.errors.push(tree_err(format!(
                    "Include Declaration in SLS {sls} is not formed as a list"
                ))),
            }
        }
        self.handle_extend(&mut state, sls, saltenv);
        handle_exclude(&mut state, sls, &mut self.errors);
        self.handle_state_decls(&mut state, sls, saltenv);
        for inc in include {
            self.include_one(&mut state, inc, sls, saltenv, is_init, matches);
        }
        self.handle_iorder(&mut state);
        state
    }

    fn include_one(
        &mut self,
        state: &mut Map<String, Value>,
        inc: Value,
        sls: &str,
        saltenv: &str,
        is_init: bool,
        matches: Option<&Matches>,
    ) {
        let (env_key, inc_sls) = match inc {
            Value::Object(m) => match m.into_iter().next_back() {
                Some((k, Value::String(v))) => (k, v),
                _ => return,
            },
            Value::String(s) => (saltenv.to_string(), s),
            other => (saltenv.to_string(), common::pyfmt::py_str(&other)),
        };
        // Salt 3007.8 checks the saltenv before anything else, so its
        // `_xenv` (resolve among the matched saltenvs) is refused here too.
        if !self.saltenvs.contains(&env_key) {
            self.errors.push(tree_err(format!(
                "Nonexistent saltenv '{env_key}' found in include of '{inc_sls}' within SLS '{saltenv}:{sls}'"
            )));
            return;
        }
        let mut inc_sls = inc_sls;
        if inc_sls.starts_with('.') {
            let levels = inc_sls.chars().take_while(|&c| c == '.').count();
            let rest = inc_sls[levels..].to_string();
            let mut comps: Vec<&str> = sls.split('.').collect();
            if is_init {
                comps.push("init");
            }
            if levels > comps.len() {
                self.errors.push(tree_err(format!(
                    "Attempted relative include of '{inc_sls}' within SLS '{saltenv}:{sls}' goes beyond top level package "
                )));
                return;
            }
            let mut parts: Vec<String> = comps[..comps.len() - levels]
                .iter()
                .map(|s| s.to_string())
                .collect();
            parts.push(rest);
            inc_sls = parts.join(".");
        }
        let env_matched = matches.is_some_and(|m| m.iter().any(|(e, _)| *e == env_key));
        if !env_matched && self.filter_avail(&env_key, &inc_sls).is_empty() {
            self.errors.push(tree_err(format!(
                "Unknown include: Specified SLS {env_key}: {inc_sls} is not available on the salt master in saltenv(s): {env_key} "
            )));
            return;
        }
        let r_env = env_key;
        // Salt globs the include against the includer's saltenv (not the one
        // it resolved to), then renders each name in the resolved one.
        let mut targets = self.filter_avail(saltenv, &inc_sls);
        if targets.is_empty() {
            targets.push(inc_sls);
        }
        for target in targets {
            if self.mods.contains(&format!("{r_env}:{target}")) {
                continue;
            }
            let mut nstate = self.render_state(&target, &r_env, matches);
            for (id, body) in nstate.iter_mut() {
                if id.starts_with("__") {
                    continue;
                }
                if let Some(b) = as_obj(body) {
                    let from = b
                        .entry("__sls_included_from__")
                        .or_insert_with(|| json!([]));
                    if let Value::Array(list) = from {
                        list.push(Value::String(sls.to_string()));
                    }
                }
            }
            if !nstate.is_empty() {
                self.merge_included_states(state, nstate.clone());
                // merge_included_states moved the included `__extend__` and
                // `__exclude__` lists across; copying them again would replace
                // the includer's own.
                for (k, v) in nstate {
                    if k != "__extend__" && k != "__exclude__" {
                        state.insert(k, v);
                    }
                }
            }
        }
    }

    /// `_handle_extend`: moves `extend:` into the `__extend__` list.
    fn handle_extend(&mut self, state: &mut Map<String, Value>, sls: &str, saltenv: &str) {
        let Some(ext) = state.shift_remove("extend") else {
            return;
        };
        let Value::Object(mut ext) = ext else {
            self.errors.push(tree_err(format!(
                "Extension value in SLS '{sls}' is not a dictionary"
            )));
            return;
        };
        for (name, body) in ext.iter_mut() {
            let Some(b) = as_obj(body) else {
                self.errors.push(tree_err(format!(
                    "Extension name '{name}' in SLS '{sls}' is not a dictionary"
                )));
                continue;
            };
            b.entry("__sls__").or_insert_with(|| json!(sls));
            b.entry("__env__").or_insert_with(|| json!(saltenv));
            let keys: Vec<String> = b.keys().cloned().collect();
            for key in keys {
                if key.starts_with('_') || !b[&key].is_array() || !key.contains('.') {
                    continue;
                }
                let mut comps = key.split('.');
                let (module, fun) = (
                    comps.next().unwrap_or_default().to_string(),
                    comps.next().unwrap_or_default().to_string(),
                );
                let mut args = b.shift_remove(&key).unwrap_or_default();
                if let Value::Array(a) = &mut args {
                    a.push(Value::String(fun));
                }
                b.insert(module, args);
            }
        }
        let list = state.entry("__extend__").or_insert_with(|| json!([]));
        if let Value::Array(l) = list {
            l.push(Value::Object(ext));
        }
    }

    /// `_handle_state_decls`: `pkg.installed: [...]` → `pkg: [..., installed]`,
    /// plus `__sls__`/`__env__` on every ID.
    fn handle_state_decls(&mut self, state: &mut Map<String, Value>, sls: &str, saltenv: &str) {
        let names: Vec<String> = state.keys().cloned().collect();
        for name in names {
            let body = state.get_mut(&name).expect("key from the same map");
            if !body.is_object() {
                if name == "__extend__" || name == "__exclude__" {
                    continue;
                }
                if let Some(s) = body.as_str().filter(|s| s.contains('.')) {
                    let mut comps = s.split('.');
                    let module = comps.next().unwrap_or_default().to_string();
                    let fun = comps.next().unwrap_or_default().to_string();
                    let mut m = Map::new();
                    m.insert("__sls__".into(), json!(sls));
                    m.insert("__env__".into(), json!(saltenv));
                    m.insert(module, json!([fun]));
                    *body = Value::Object(m);
                    continue;
                }
                self.errors.push(tree_err(format!(
                    "ID {name} in SLS {sls} is not a dictionary"
                )));
                continue;
            }
            let b = as_obj(body).expect("checked is_object");
            let mut seen: HashSet<String> = HashSet::new();
            let keys: Vec<String> = b.keys().cloned().collect();
            for key in keys {
                if key.starts_with('_') || !b[&key].is_array() {
                    continue;
                }
                if key.contains('.') {
                    let mut comps = key.split('.');
                    let module = comps.next().unwrap_or_default().to_string();
                    let fun = comps.next().unwrap_or_default().to_string();
                    if seen.contains(&module) {
                        self.errors.push(tree_err(format!(
                            "ID '{name}' in SLS '{sls}' contains multiple state declarations of the same type"
                        )));
                        continue;
                    }
                    let mut args = b.shift_remove(&key).unwrap_or_default();
                    if let Value::Array(a) = &mut args {
                        a.push(Value::String(fun));
                    }
                    b.insert(module.clone(), args);
                    seen.insert(module);
                    continue;
                }
                seen.insert(key);
            }
            b.entry("__sls__").or_insert_with(|| json!(sls));
            b.entry("__env__").or_insert_with(|| json!(saltenv));
        }
    }

    /// `_handle_iorder`: numbers every state declaration without an `order`.
    fn handle_iorder(&mut self, state: &mut Map<String, Value>) {
        for body in state.values_mut() {
            let Some(b) = as_obj(body) else { continue };
            for (s_dec, args) in b.iter_mut() {
                if s_dec.starts_with('_') {
                    continue;
                }
                let Value::Array(list) = args else { continue };
                let found = list.iter().any(|a| {
                    a.as_object()
                        .and_then(|m| m.keys().next())
                        .is_some_and(|k| k == "order")
                });
                if !found {
                    list.push(json!({ "order": self.iorder }));
                    self.iorder += 1;
                }
            }
        }
    }

    /// `file, line N` of a top-level `id:` in an SLS, when it is written literally.
    fn id_location(&self, saltenv: &str, sls: &str, id: &str) -> Option<String> {
        let renderer = self.renderer(saltenv)?;
        let (file, _) = renderer.resolve_sls(sls)?;
        let keys = [format!("{id}:"), format!("'{id}':"), format!("\"{id}\":")];
        let (line, _) =
            renderer.locate(&file, |l| keys.iter().any(|k| l.starts_with(k.as_str())))?;
        Some(format!("{file}, line {line}"))
    }

    /// Where top.sls names `sls`, for "no matching sls" errors.
    fn top_location(&self, saltenv: &str, sls: &str) -> Option<String> {
        let renderer = self.renderer(saltenv).or_else(|| self.renderer("base"))?;
        let (line, text) = renderer.locate("top.sls", |l| {
            let t = l
                .trim()
                .trim_start_matches('-')
                .trim()
                .trim_matches(['\'', '"']);
            t == sls
        })?;
        Some(format!("top.sls, line {line}: {}", text.trim()))
    }

    /// `merge_included_states`: IDs must be globally unique.
    pub fn merge_included_states(
        &mut self,
        high: &mut Map<String, Value>,
        mut state: Map<String, Value>,
    ) {
        for key in ["__extend__", "__exclude__"] {
            if let Some(Value::Array(items)) = state.shift_remove(key) {
                if let Value::Array(l) = high.entry(key).or_insert_with(|| json!([])) {
                    l.extend(items);
                }
            }
        }
        for (id, body) in &state {
            if let Some(existing) = high.get(id) {
                if existing != body {
                    let loc = |b: &Value| {
                        format!(
                            "{}:{}",
                            b.get("__env__").and_then(Value::as_str).unwrap_or("base"),
                            b.get("__sls__").and_then(Value::as_str).unwrap_or("?")
                        )
                    };
                    let sls_of = |b: &Value| {
                        let field = |k: &str, or: &str| {
                            b.get(k).and_then(Value::as_str).unwrap_or(or).to_string()
                        };
                        (field("__env__", "base"), field("__sls__", ""))
                    };
                    let at = [sls_of(existing), sls_of(body)]
                        .iter()
                        .filter_map(|(env, sls)| self.id_location(env, sls, id))
                        .collect::<Vec<_>>()
                        .join("; ");
                    self.errors.push(tree_err(format!(
                        "Detected conflicting IDs, SLS IDs need to be globally unique.\n    The conflicting ID is '{id}' and is found in SLS '{}' and SLS '{}'{}",
                        loc(existing),
                        loc(body),
                        if at.is_empty() { String::new() } else { format!("\n    declared at: {at}") }
                    )));
                }
            }
        }
        for (k, v) in state {
            high.insert(k, v);
        }
    }
}

fn handle_exclude(state: &mut Map<String, Value>, sls: &str, errors: &mut Vec<CompileError>) {
    let Some(exc) = state.shift_remove("exclude") else {
        return;
    };
    let items = match exc {
        Value::Array(items) => items,
        _ => {
            errors.push(tree_err(format!(
                "Exclude Declaration in SLS {sls} is not formed as a list"
            )));
            return;
        }
    };
    if let Value::Array(l) = state.entry("__exclude__").or_insert_with(|| json!([])) {
        l.extend(items);
    }
}

/// `clean_duplicate_extends`.
fn clean_duplicate_extends(high: &mut Map<String, Value>) {
    let Some(Value::Array(exts)) = high.get_mut("__extend__") else {
        return;
    };
    let mut seen: Vec<(String, Value)> = Vec::new();
    for ext in exts.iter() {
        if let Value::Object(m) = ext {
            for (k, v) in m {
                let item = (k.clone(), v.clone());
                if !seen.contains(&item) {
                    seen.push(item);
                }
            }
        }
    }
    *exts = seen.into_iter().map(|(k, v)| json!({ k: v })).collect();
}
