//! top.sls: render the tops of every saltenv, merge them as Salt does
//! (`top_file_merging_strategy`, `env_order`, `default_top`), and match.
//! Ports of salt/state.py's `_get_envs`, `get_tops`, `_merge_tops_*` and
//! `top_matches`; the pillar uses the same reading and its own merge
//! ([`merge_every_section`], salt/pillar's `merge_tops`).
use crate::config::TopMerging;
use crate::data::{Map, Value};
use crate::render::Session;
use crate::saltenvs::{env_vars, Saltenvs};
use crate::target::{self, fnmatch, Facts, TargetKind};
use crate::tree_error::TreeError as CompileError;

/// `{saltenv: [sls, ...]}` in top-file order.
pub type Matches = Vec<(String, Vec<String>)>;

/// The merged top data: `{saltenv: {target: [items]}}`.
pub type Top = Map<String, Value>;

/// The rendered top files of each saltenv read: its own `top.sls` (`{}`
/// when it has none), then the tops it includes.
pub type Tops = Vec<(String, Vec<Map<String, Value>>)>;

/// `_get_envs`: the saltenvs whose tops are read, in merge order: `base`,
/// then the configured ones in order; with `env_order`, the configured
/// saltenvs it names, in its order.
pub fn env_list(saltenvs: &Saltenvs, env_order: &[String]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for e in env_order {
        if !order.contains(e) {
            order.push(e.clone());
        }
    }
    if !order.is_empty() {
        return order.into_iter().filter(|e| saltenvs.contains(e)).collect();
    }
    let mut envs = vec!["base".to_string()];
    envs.extend(
        saltenvs
            .names()
            .filter(|e| *e != "base")
            .map(str::to_string),
    );
    envs
}

/// `get_tops`: renders `top.sls` of each of `read` (in that order) and the
/// tops each includes, every one in its own saltenv.
pub fn get_tops(
    saltenvs: &Saltenvs,
    session: &Session,
    read: &[String],
    errors: &mut Vec<CompileError>,
) -> Tops {
    let mut tops: Tops = Vec::new();
    for saltenv in read {
        let mut ctops = Vec::new();
        let renderer = saltenvs.get(saltenv);
        match renderer {
            Some(r) if r.exists("top.sls") => {
                let vars = env_vars(saltenv, None);
                match r.render_sls_with(session, "top.sls", None, Some(&vars)) {
                    Ok(Value::Object(m)) => ctops.push(m),
                    Ok(v) => {
                        if !v.is_null() {
                            errors.push(CompileError::Tree(
                                "Top file does not render to a dictionary".into(),
                            ));
                        }
                        ctops.push(Map::new());
                    }
                    Err(e) => {
                        errors.push(CompileError::Render(e));
                        ctops.push(Map::new());
                    }
                }
            }
            _ => ctops.push(Map::new()),
        }
        if let Some(r) = renderer {
            include_tops(r, session, saltenv, &mut ctops, errors);
        }
        tops.push((saltenv.clone(), ctops));
    }
    tops
}

/// Tops may `include:` other SLS files of their saltenv holding more top data.
fn include_tops(
    renderer: &crate::render::Renderer,
    session: &Session,
    saltenv: &str,
    ctops: &mut Vec<Map<String, Value>>,
    errors: &mut Vec<CompileError>,
) {
    let vars = env_vars(saltenv, None);
    let mut done: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ctops.len() {
        let includes: Vec<String> = ctops[i]
            .shift_remove("include")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        for inc in includes {
            if done.contains(&inc) {
                continue;
            }
            done.push(inc.clone());
            match renderer.resolve_sls(&inc) {
                Some((file, _)) => {
                    match renderer.render_sls_with(session, &file, None, Some(&vars)) {
                        Ok(Value::Object(m)) => ctops.push(m),
                        Ok(v) if v.is_null() => {}
                        Ok(_) => errors.push(CompileError::Tree(
                            "Top file does not render to a dictionary".into(),
                        )),
                        Err(e) => errors.push(CompileError::Render(e)),
                    }
                }
                None => errors.push(CompileError::Tree(format!(
                    "top file includes '{inc}', which is not in saltenv '{saltenv}'"
                ))),
            }
        }
        i += 1;
    }
}

fn no_targets() -> CompileError {
    CompileError::Tree("Unable to render top file. No targets found.".into())
}

/// Copies one section's targets into the merged top, replacing a target
/// already there (in its place, as Salt's OrderedDict does).
fn take_section(
    top: &mut Top,
    saltenv: &str,
    targets: &Value,
    errors: &mut Vec<CompileError>,
) -> bool {
    let Value::Object(targets) = targets else {
        errors.push(no_targets());
        return false;
    };
    let section = top
        .entry(saltenv.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(section) = section {
        for (tgt, data) in targets {
            section.insert(tgt.clone(), data.clone());
        }
    }
    true
}

/// `merge_tops` for states, by `top_file_merging_strategy`.
pub fn merge_tops(
    tops: &Tops,
    how: TopMerging,
    default_top: &str,
    errors: &mut Vec<CompileError>,
) -> Top {
    match how {
        TopMerging::Merge => merge_tops_merge(tops, errors),
        TopMerging::Same => merge_tops_same(tops, default_top, errors),
        TopMerging::MergeAll => merge_tops_merge_all(tops, errors),
    }
}

/// `_merge_tops_merge`: base's top is authoritative for every section it
/// has; another saltenv's top counts only for its own section, and only
/// when no earlier top defined it.
fn merge_tops_merge(tops: &Tops, errors: &mut Vec<CompileError>) -> Top {
    let mut top = Top::new();
    for (_, ctops) in tops.iter().filter(|(e, _)| e == "base") {
        for ctop in ctops {
            for (saltenv, targets) in ctop {
                if saltenv != "include" && !take_section(&mut top, saltenv, targets, errors) {
                    return Top::new();
                }
            }
        }
    }
    for (cenv, ctops) in tops.iter().filter(|(e, _)| e != "base") {
        for ctop in ctops {
            for (saltenv, targets) in ctop {
                if saltenv == "include" || saltenv != cenv || top.contains_key(saltenv) {
                    continue;
                }
                if !take_section(&mut top, saltenv, targets, errors) {
                    return Top::new();
                }
            }
        }
    }
    top
}

/// `_merge_tops_same`: each saltenv's section from its own top only; a
/// saltenv without a top takes its section from `default_top`'s.
fn merge_tops_same(tops: &Tops, default_top: &str, errors: &mut Vec<CompileError>) -> Top {
    let mut top = Top::new();
    let empty = |ctops: &[Map<String, Value>]| ctops.iter().all(Map::is_empty);
    for (cenv, ctops) in tops {
        if empty(ctops) {
            let fallback = tops
                .iter()
                .find(|(e, _)| e == default_top)
                .map(|(_, t)| t.as_slice())
                .unwrap_or_default();
            if empty(fallback) {
                tracing::warn!(saltenv = %cenv, default_top, "no top file in this saltenv nor in default_top's");
                continue;
            }
            for ctop in fallback {
                if let Some(targets) = ctop.get(cenv) {
                    take_section(&mut top, cenv, targets, errors);
                    break;
                }
            }
            continue;
        }
        for ctop in ctops {
            for (saltenv, targets) in ctop {
                if saltenv == "include" || saltenv != cenv {
                    continue;
                }
                if !take_section(&mut top, saltenv, targets, errors) {
                    return Top::new();
                }
            }
        }
    }
    top
}

/// `_merge_tops_merge_all`: every section of every top; a target named
/// twice gets both SLS lists (the later match option wins).
fn merge_tops_merge_all(tops: &Tops, errors: &mut Vec<CompileError>) -> Top {
    fn read_tgt(v: &Value) -> (Option<Value>, Vec<Value>) {
        let mut match_type = None;
        let mut states = Vec::new();
        for item in v.as_array().into_iter().flatten() {
            match item {
                Value::Object(_) => match_type = Some(item.clone()),
                Value::String(_) => states.push(item.clone()),
                _ => {}
            }
        }
        (match_type, states)
    }
    let mut top = Top::new();
    for (_, ctops) in tops {
        for ctop in ctops {
            for (saltenv, targets) in ctop {
                if saltenv == "include" {
                    continue;
                }
                let Value::Object(targets) = targets else {
                    errors.push(no_targets());
                    return Top::new();
                };
                let section = top
                    .entry(saltenv.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(section) = section else {
                    continue;
                };
                for (tgt, data) in targets {
                    let Some(old) = section.get(tgt) else {
                        section.insert(tgt.clone(), data.clone());
                        continue;
                    };
                    let (m1, s1) = read_tgt(old);
                    let (m2, s2) = read_tgt(data);
                    let mut merged: Vec<Value> = m2.or(m1).into_iter().collect();
                    merged.extend(s1);
                    for s in s2 {
                        if !merged.contains(&s) {
                            merged.push(s);
                        }
                    }
                    section.insert(tgt.clone(), Value::Array(merged));
                }
            }
        }
    }
    top
}

/// The pillar's `merge_tops`: every section of every top, a target named
/// again replacing the earlier one.
pub fn merge_every_section(tops: &Tops, errors: &mut Vec<CompileError>) -> Top {
    let mut top = Top::new();
    for (_, ctops) in tops {
        for ctop in ctops {
            for (saltenv, targets) in ctop {
                if saltenv != "include" {
                    take_section(&mut top, saltenv, targets, errors);
                }
            }
        }
    }
    top
}

/// Which saltenvs [`top_matches`] looks at.
pub struct MatchScope<'a> {
    /// Only this saltenv's section (a job's or the config's `saltenv`).
    pub only: Option<&'a str>,
    /// The configured saltenvs: an `{env: sls}` item naming another is dropped.
    pub saltenvs: &'a Saltenvs,
}

/// `top_matches`: the SLS names this minion gets, per saltenv.
pub fn top_matches(
    top: &Top,
    facts: &Facts,
    nodegroups: &Map<String, Value>,
    scope: &MatchScope,
    errors: &mut Vec<CompileError>,
) -> Matches {
    let mut matches: Matches = Vec::new();
    for (saltenv, body) in top {
        if scope.only.is_some_and(|only| only != saltenv) {
            continue;
        }
        let Some(body) = body.as_object() else {
            continue;
        };
        for (tgt, data) in body {
            let items: Vec<Value> = match data {
                Value::String(s) => vec![Value::String(s.clone())],
                Value::Array(items) => items.clone(),
                _ => continue,
            };
            let kind_name = items
                .iter()
                .filter_map(|i| i.get("match").and_then(Value::as_str))
                .next_back()
                .unwrap_or("compound");
            let Some(kind) = TargetKind::from_salt_name(kind_name) else {
                errors.push(CompileError::Tree(format!(
                    "top.sls: unknown matcher '{kind_name}' for target '{tgt}'"
                )));
                continue;
            };
            match target::matches(tgt, kind, facts, nodegroups) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    errors.push(CompileError::Tree(format!("top.sls: target '{tgt}': {e}")));
                    continue;
                }
            }
            let idx = match matches.iter().position(|(e, _)| e == saltenv) {
                Some(i) => i,
                None => {
                    matches.push((saltenv.clone(), Vec::new()));
                    matches.len() - 1
                }
            };
            for item in items {
                match item {
                    Value::String(s) => matches[idx].1.push(s),
                    Value::Object(m) => {
                        // `{saltenv: sls}` items; `match:` and other options are not SLS.
                        if let Some((env_key, Value::String(sls))) = m.into_iter().next_back() {
                            if scope.saltenvs.contains(&env_key) {
                                match matches.iter_mut().find(|(e, _)| *e == env_key) {
                                    Some((_, l)) => l.push(sls),
                                    None => matches.push((env_key, vec![sls])),
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    matches
}

/// `fnmatch.filter(avail, pattern)` over a saltenv's SLS names, without
/// listing the tree for a plain name.
pub fn filter_avail(
    renderer: &crate::render::Renderer,
    avail: &mut Option<Vec<String>>,
    pattern: &str,
) -> Vec<String> {
    if !crate::sls_files::is_glob(pattern) {
        return match renderer.resolve_sls(pattern) {
            Some(_) => vec![pattern.to_string()],
            None => vec![],
        };
    }
    avail
        .get_or_insert_with(|| crate::sls_files::list(renderer.roots()))
        .iter()
        .filter(|s| fnmatch(s, pattern))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tops(v: Value) -> Tops {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(env, list)| {
                let ctops = list
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_object().unwrap().clone())
                    .collect();
                (env.clone(), ctops)
            })
            .collect()
    }

    fn merged(t: &Tops, how: TopMerging, default_top: &str) -> Value {
        let mut errors = Vec::new();
        let top = merge_tops(t, how, default_top, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        Value::Object(top)
    }

    #[test]
    fn merge_lets_base_decide_every_section_it_has() {
        let t = tops(json!({
            "base": [{"base": {"*": ["a"]}, "prod": {"*": ["p_from_base"]}}],
            "prod": [{"prod": {"*": ["p_own"]}, "dev": {"*": ["not_prods"]}}],
            "dev": [{"dev": {"*": ["d"]}}],
        }));
        assert_eq!(
            merged(&t, TopMerging::Merge, "base"),
            json!({"base": {"*": ["a"]}, "prod": {"*": ["p_from_base"]}, "dev": {"*": ["d"]}})
        );
    }

    #[test]
    fn same_reads_each_section_from_its_own_top_or_default_tops() {
        let t = tops(json!({
            "base": [{"base": {"*": ["a"]}, "prod": {"*": ["ignored"]}}],
            "prod": [{"prod": {"*": ["p"]}}],
            "qa": [{}],
            "dev": [{"dev": {"*": ["d"]}, "qa": {"*": ["q_from_dev"]}}],
        }));
        assert_eq!(
            merged(&t, TopMerging::Same, "dev"),
            json!({"base": {"*": ["a"]}, "prod": {"*": ["p"]}, "qa": {"*": ["q_from_dev"]}, "dev": {"*": ["d"]}})
        );
    }

    #[test]
    fn merge_all_joins_the_lists_of_a_target_named_twice() {
        let t = tops(json!({
            "base": [{"base": {"w*": [{"match": "glob"}, "a"]}}],
            "prod": [{"base": {"w*": [{"match": "compound"}, "b", "a"]}}],
        }));
        assert_eq!(
            merged(&t, TopMerging::MergeAll, "base"),
            json!({"base": {"w*": [{"match": "compound"}, "a", "b"]}})
        );
    }

    #[test]
    fn env_order_names_the_tops_read_and_their_order() {
        let roots = crate::config::EnvRoots(vec![
            ("prod".into(), vec![]),
            ("base".into(), vec![]),
            ("dev".into(), vec![]),
        ]);
        let envs = Saltenvs::new(&roots);
        assert_eq!(env_list(&envs, &[]), ["base", "prod", "dev"]);
        let order = ["dev".to_string(), "qa".into(), "prod".into(), "dev".into()];
        assert_eq!(env_list(&envs, &order), ["dev", "prod"]);
    }
}
