//! top.sls: render, merge (Salt's default `merge` strategy), and match.
use crate::data::{Map, Value};
use crate::render::{Renderer, Session};
use crate::target::{self, Facts, TargetKind};
use crate::tree_error::TreeError as CompileError;

/// `{saltenv: [sls, ...]}` in top-file order.
pub type Matches = Vec<(String, Vec<String>)>;

/// The merged top data: `{saltenv: {target: [items]}}`.
pub type Top = Map<String, Value>;

/// Renders `top.sls` (and any tops it includes) and merges them.
pub fn get_top(
    renderer: &Renderer,
    session: &Session,
    saltenv: &str,
    errors: &mut Vec<CompileError>,
) -> Top {
    let mut tops: Vec<Value> = Vec::new();
    if renderer.exists("top.sls") {
        match renderer.render_sls(session, "top.sls", None) {
            Ok(v) => tops.push(v),
            Err(e) => {
                errors.push(CompileError::Render(e));
                return Top::new();
            }
        }
    }
    // Tops may `include:` other SLS files holding more top data.
    let mut done: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tops.len() {
        let includes: Vec<String> = tops[i]
            .as_object_mut()
            .and_then(|m| m.shift_remove("include"))
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
                Some((file, _)) => match renderer.render_sls(session, &file, None) {
                    Ok(v) => tops.push(v),
                    Err(e) => errors.push(CompileError::Render(e)),
                },
                None => errors.push(CompileError::Tree(format!(
                    "top file includes '{inc}', which is not in saltenv '{saltenv}'"
                ))),
            }
        }
        i += 1;
    }
    let mut top = Top::new();
    for ctop in tops {
        let Value::Object(ctop) = ctop else {
            if !ctop.is_null() {
                errors.push(CompileError::Tree(
                    "Top file does not render to a dictionary".into(),
                ));
            }
            continue;
        };
        for (env, targets) in ctop {
            if env == "include" {
                continue;
            }
            let Value::Object(targets) = targets else {
                errors.push(CompileError::Tree(
                    "Unable to render top file. No targets found.".into(),
                ));
                continue;
            };
            let section = top.entry(env).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(section) = section {
                for (tgt, data) in targets {
                    section.insert(tgt, data);
                }
            }
        }
    }
    top
}

/// `top_matches`: the SLS names this minion gets, per saltenv.
pub fn top_matches(
    top: &Top,
    facts: &Facts,
    nodegroups: &Map<String, Value>,
    errors: &mut Vec<CompileError>,
) -> Matches {
    let mut matches: Matches = Vec::new();
    for (saltenv, body) in top {
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
                            if top.contains_key(&env_key) {
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
