//! `ini.options_present` / `ini.options_absent` / `ini.sections_present`
//! (salt/states/ini_manage.py over salt/modules/ini_manage.py).
//!
//! The file is read and written with a port of Salt's `_Ini` ([`model`]),
//! so comments, order and Salt's normalising (`key = value`, one blank line
//! before each section) come out as Salt leaves them. Salt rewrites the file
//! on every run; Brine writes only when something changes, so a clean
//! re-check leaves the file alone. Test-mode comments are Salt's (`Changed
//! key k in section s.`); as in Salt, a dry run shows no changes.
//!
//! `sections_present` outside test mode raises a TypeError in Salt 3007.8
//! (it passes `section=` to `ini.set_option`); Brine does what it means:
//! each missing section is created empty, changes `{section: {before:
//! None, after: {}}}`.
mod model;

use common::data::{Map, Value};

use super::{Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use model::{before_after, Item, Section};

pub struct Ini;

impl super::StateModule for Ini {
    fn name(&self) -> &'static str {
        "ini"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::INI
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "options_present" => options_present(args, host),
            "options_absent" => options_absent(args, host),
            "sections_present" => sections_present(args, host),
            other => Err(StateError::args(format!(
                "ini.{other} is not a state function (Brine has: {})",
                super::signatures::names(super::signatures::tables::INI).join(", ")
            ))),
        }
    }
}

/// The file as read, and how to write it back.
struct IniFile {
    path: std::path::PathBuf,
    ini: Section,
    separator: String,
}

fn open(args: &Args, host: &HostRead) -> Result<IniFile, StateError> {
    let name = args.name();
    let separator = args.str_or("separator", "=")?;
    if let Some(enc) = args.str("encoding")? {
        let enc = enc.to_ascii_lowercase().replace(['-', '_'], "");
        if enc != "utf8" {
            return Err(StateError::args(format!(
                "ini: encoding {enc:?} is not supported by Brine (only utf-8)"
            )));
        }
    }
    let path = host.path(&name)?;
    let text = super::text_file::read_optional(&path)?.unwrap_or_default();
    Ok(IniFile {
        path,
        ini: Section::parse(&text, &separator),
        separator,
    })
}

/// The end of a check: clean with Salt's words, or a change whose apply
/// writes `ini` and reports `changes`.
fn finish(
    file: IniFile,
    ini: Section,
    changes: Map<String, Value>,
    test_comment: String,
    no_spaces: bool,
) -> Check {
    if changes.is_empty() {
        return Check::Clean {
            comment: "No anomaly detected".into(),
            test_comment: Some(test_comment),
        };
    }
    let text = ini.render(no_spaces);
    Check::change(
        Map::new(),
        test_comment,
        ApplyFn(move |host: &HostWrite| {
            super::text_file::replace(host, &file.path, &text, 0o644, None)?;
            Ok(Applied::ok_with("Changes take effect", changes))
        }),
    )
}

/// Python's `str()` comparison Salt's dry run makes.
fn same_text(item: Option<&Item>, wanted: &Value) -> bool {
    match item {
        Some(Item::Text(t)) => *t == common::pyfmt::py_str(wanted),
        _ => false,
    }
}

fn sections_arg(args: &Args) -> Result<Map<String, Value>, StateError> {
    match args.get("sections") {
        None => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(v) => Err(StateError::args(format!(
            "'sections' must be a dictionary, got {v}"
        ))),
    }
}

fn options_present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let sections = sections_arg(args)?;
    let strict = args.bool_or("strict", false)?;
    let no_spaces = args.bool_or("no_spaces", false)?;
    let file = open(args, host)?;
    let sep = file.separator.clone();
    let original = file.ini.clone();
    let mut ini = file.ini.clone();
    let mut test = String::new();
    let mut changes = Map::new();

    let options: Vec<(String, Item)> = sections
        .iter()
        .filter(|(_, v)| !v.is_object())
        .map(|(k, v)| (k.clone(), Item::from_value(k, v, &sep)))
        .collect();
    let top_opts: Vec<(&str, &Item)> = original
        .visible()
        .into_iter()
        .filter(|(_, v)| matches!(v, Item::Text(_)))
        .collect();
    for (k, v) in sections.iter().filter(|(_, v)| !v.is_object()) {
        let unchanged = top_opts
            .iter()
            .any(|(name, item)| name == k && same_text(Some(item), v));
        let word = if unchanged { "Unchanged" } else { "Changed" };
        test.push_str(&format!("{word} key {k}.\n"));
    }
    changes.extend(ini.update(&options));
    if strict {
        for (opt, before) in &top_opts {
            if options.iter().any(|(k, _)| k == opt) {
                continue;
            }
            test.push_str(&format!("Removed key {opt}.\n"));
            ini.pop(opt);
            changes.insert(opt.to_string(), before_after(before.plain(), Value::Null));
        }
    }
    for (section, body) in sections.iter() {
        let Value::Object(body) = body else { continue };
        let descr = if section.is_empty() {
            String::new()
        } else {
            format!(" in section {section}")
        };
        let current = original.section(section);
        let mut section_changes = Map::new();
        if strict {
            for (key, before) in current.map(|s| s.visible()).unwrap_or_default() {
                if body.contains_key(key) {
                    continue;
                }
                test.push_str(&format!("Deleted key {key}{descr}.\n"));
                // Salt's remove_option: from the section, or the top level
                // when that name is not a section.
                match ini.section_mut(section) {
                    Some(s) => s.pop(key),
                    None => ini.pop(key),
                };
                section_changes.insert(key.to_string(), before_after(before.plain(), Value::Null));
            }
        }
        for (key, value) in body {
            let unchanged = same_text(current.and_then(|s| s.get(key)), value);
            let word = if unchanged { "Unchanged" } else { "Changed" };
            test.push_str(&format!("{word} key {key}{descr}.\n"));
        }
        let update = [(
            section.clone(),
            Item::from_value(section, &Value::Object(body.clone()), &sep),
        )];
        if let Some(Value::Object(updated)) = ini.update(&update).remove(section) {
            section_changes.extend(updated);
        }
        if !section_changes.is_empty() {
            changes.insert(section.clone(), Value::Object(section_changes));
        }
    }
    changes.retain(|_, v| truthy(v));
    Ok(finish(file, ini, changes, test, no_spaces))
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Number(_) => true,
    }
}

fn options_absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let sections = sections_arg(args)?;
    let file = open(args, host)?;
    let mut ini = file.ini.clone();
    let mut test = String::new();
    let mut changes = Map::new();
    for (section, keys) in &sections {
        let Value::Array(keys) = keys else {
            return Err(StateError::args(format!(
                "ini.options_absent: the keys of section {section:?} must be a list \
                 (use the section \"\" for options outside any section)"
            )));
        };
        let descr = if section.is_empty() {
            String::new()
        } else {
            format!(" in section {section}")
        };
        for key in keys.iter().map(common::pyfmt::py_str) {
            // Salt's remove_option: from the section, or the top level when
            // that name is not a section (how section "" reaches top-level
            // options). An empty value is removed but not reported.
            let removed = match ini.section_mut(section) {
                Some(s) => s.pop(&key),
                None => ini.pop(&key),
            };
            let Some(removed) = removed.map(|r| r.plain()).filter(truthy) else {
                test.push_str(&format!("Key {key}{descr} does not exist.\n"));
                continue;
            };
            test.push_str(&format!("Deleted key {key}{descr}.\n"));
            let entry = changes
                .entry(section.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                m.insert(key.clone(), removed);
            }
        }
    }
    Ok(finish(file, ini, changes, or_no_changes(test), false))
}

/// What the dry runs of `options_absent` and `sections_present` say when
/// they have nothing to say.
fn or_no_changes(test: String) -> String {
    if test.is_empty() {
        "No changes detected.".into()
    } else {
        test
    }
}

fn sections_present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let names: Vec<String> = match args.get("sections") {
        None => Vec::new(),
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        Some(Value::Array(items)) => items.iter().map(common::pyfmt::py_str).collect(),
        Some(v) => {
            return Err(StateError::args(format!(
                "'sections' must be a list of section names, got {v}"
            )))
        }
    };
    let file = open(args, host)?;
    let sep = file.separator.clone();
    let mut ini = file.ini.clone();
    let mut test = String::new();
    for name in &names {
        if file.ini.visible().iter().any(|(k, _)| k == name) {
            test.push_str(&format!("Section unchanged {name}.\n"));
        } else {
            test.push_str(&format!("Created new section {name}.\n"));
        }
    }
    let update: Vec<(String, Item)> = names
        .iter()
        .map(|n| (n.clone(), Item::Section(Section::new(n, &sep))))
        .collect();
    let changes = ini.update(&update);
    Ok(finish(file, ini, changes, or_no_changes(test), false))
}

#[cfg(test)]
mod tests;
