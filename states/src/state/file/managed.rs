//! `file.managed`: the file's content from `contents`, `source` or nothing,
//! planned (and written) by `file_plan`.
use common::data::{Map, Value};

use super::super::{Args, Check, HostRead, StateError};
use super::file_plan::{
    plan_file, plan_perms_only, py_splitlines, set_to_change, NewContent, Target,
};
use super::fsio;
use super::owner::Accounts;
use super::perms::{mode_str, Perms};
use super::source::{self, SourceRef};
use super::{absolute_name, fail_unless_dict, read_backup};
/// Salt's handling of `contents`: every line ends with a newline (the last
/// one too, unless `contents_newline: False`).
fn normalize_contents(value: &Value, newline: bool) -> String {
    let parts: Vec<String> = match value {
        Value::Array(items) => items.iter().map(common::pyfmt::py_str).collect(),
        other => vec![common::pyfmt::py_str(other)],
    };
    let mut out = String::new();
    for part in &parts {
        for line in py_splitlines(part) {
            out.push_str(line.trim_end_matches('\n').trim_end_matches('\r'));
            out.push('\n');
        }
    }
    if !newline {
        let trimmed = out.trim_end_matches('\n').trim_end_matches('\r').len();
        out.truncate(trimmed);
    }
    out
}

/// The `contents`/`contents_pillar` value, or a failure comment.
fn contents_value(
    args: &Args,
    host: &HostRead,
    contents: Option<&Value>,
    pillar_key: Option<&Value>,
) -> Result<Result<Option<Value>, String>, StateError> {
    if let Some(key) = pillar_key {
        let delimiter = args.str_or("contents_delimiter", ":")?;
        let keys: Vec<String> = match key {
            Value::Array(items) => items.iter().map(common::pyfmt::py_str).collect(),
            other => vec![common::pyfmt::py_str(other)],
        };
        let mut found = Vec::new();
        for k in &keys {
            match common::data::traverse(host.pillar(), k, &delimiter) {
                Some(v) => found.push(v.clone()),
                None => return Ok(Err(format!("Pillar {k} does not exist"))),
            }
        }
        return Ok(Ok(Some(match (key, found.as_slice()) {
            (Value::Array(_), _) => Value::String(
                found
                    .iter()
                    .map(common::pyfmt::py_str)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            (_, [one]) => one.clone(),
            _ => Value::Null,
        })));
    }
    Ok(Ok(contents.cloned()))
}

pub(super) fn check(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let source = args.get("source");
    let source_hash = args.str("source_hash")?.filter(|s| !s.is_empty());
    let source_hash_name = args.str("source_hash_name")?;
    let skip_verify = args.bool_or("skip_verify", false)?;
    // Downloads stay in the minion's cache by digest (crate::remote) whatever
    // keep_source says: a copy is only reused when it has the expected hash.
    let _ = args.get("keep_source");
    let template = args.str("template")?.filter(|s| !s.is_empty());
    let makedirs = args.bool_or("makedirs", false)?;
    let dir_mode = args.mode("dir_mode")?;
    let context = args.get("context");
    let defaults = args.get("defaults");
    let mut replace = args.bool_or("replace", true)?;
    let backup = read_backup(args)?;
    let show_changes = args.bool_or("show_changes", true)?;
    let create = args.bool_or("create", true)?;
    let contents = args.get("contents");
    let contents_pillar = args.get("contents_pillar");
    let contents_newline = args.bool_or("contents_newline", true)?;
    let allow_empty = args.bool_or("allow_empty", true)?;
    let follow_symlinks = args.bool_or("follow_symlinks", true)?;
    let mode = args.mode("mode")?;
    let accounts = Accounts::load(host);
    let perms = Perms::from_args(
        &accounts,
        args.get("user").or(args.get("owner")),
        args.get("group"),
        mode,
    )?;

    if args.get("contents_grains").is_some() {
        return Ok(Check::fail(
            "'contents_grains' is not supported by Brine yet: use contents with a Jinja grains lookup",
        ));
    }
    let contents_count = [contents, contents_pillar].iter().flatten().count();
    if source.is_some() && contents_count > 0 {
        return Ok(Check::fail(
            "'source' cannot be used in combination with 'contents', 'contents_pillar', or 'contents_grains'",
        ));
    }
    if contents_count > 1 {
        return Ok(Check::fail(
            "Only one of 'contents', 'contents_pillar', and 'contents_grains' is permitted",
        ));
    }
    if source.is_none() && contents_count == 0 {
        replace = false;
    }
    let contents = match contents_value(args, host, contents, contents_pillar)? {
        Ok(v) => v,
        Err(fail) => return Ok(Check::fail(fail)),
    };
    if let Some(c) = &contents {
        if !allow_empty && !common::data::is_truthy(c) {
            let id = match contents_pillar {
                Some(k) => format!("contents_pillar {}", common::pyfmt::py_str(k)),
                None => "'contents'".into(),
            };
            return Ok(Check::fail(format!(
                "{id} value would result in empty contents. Set allow_empty to True to allow the managed file to be empty."
            )));
        }
        if template.is_some() {
            return Ok(Check::fail(
                "'template' with 'contents' is not supported by Brine yet: put the template in a salt:// source",
            ));
        }
    }
    if let Some(f) = fail_unless_dict(context, "Context must be formed as a dict")
        .or_else(|| fail_unless_dict(defaults, "Defaults must be formed as a dict"))
    {
        return Ok(f);
    }

    let real_name = if follow_symlinks {
        fsio::resolve_links(host, &name)?
    } else {
        name.clone()
    };
    let real = host.path(&real_name)?;
    if !create && !real.is_file() {
        return Ok(Check::clean(format!(
            "File {name} is not present and is not set for creation"
        )));
    }
    if real.is_dir() {
        return Ok(Check::fail(format!(
            "Specified target {name} is a directory"
        )));
    }
    let target = Target {
        name: name.clone(),
        real_name,
        perms,
        makedirs,
        dir_mode,
        backup,
        show_changes,
    };
    let sources = source.map(source::source_list).transpose()?;

    // A source with a known checksum that the file already has: no fetch.
    if let (Some([only]), None, true, Some(spec)) = (
        sources.as_deref(),
        template.as_ref(),
        real.is_file() && replace && !skip_verify,
        source_hash.as_deref(),
    ) {
        if let Ok(sum) = source::checksum(host, spec, &only.url, source_hash_name.as_deref()) {
            if std::fs::read(&real).is_ok_and(|b| sum.matches(&b)) {
                replace = false;
            }
        }
    }
    if !replace && fsio::lexists(&real) {
        return plan_perms_only(host, target);
    }

    let content = match (&sources, &contents) {
        (Some(list), _) => {
            match source_content(
                host,
                &target,
                list,
                source_hash,
                source_hash_name,
                skip_verify,
                template,
                context,
                defaults,
            )? {
                Ok(c) => Some(c),
                Err(fail) => return Ok(fail),
            }
        }
        (None, Some(c)) => Some(NewContent::Contents(
            normalize_contents(c, contents_newline).into_bytes(),
        )),
        (None, None) => None,
    };
    plan_file(host, target, content, set_to_change(&name))
}

/// Fetches (or renders) the source and checks it against `source_hash`.
#[allow(clippy::too_many_arguments)]
fn source_content(
    host: &HostRead,
    target: &Target,
    list: &[SourceRef],
    source_hash: Option<String>,
    source_hash_name: Option<String>,
    skip_verify: bool,
    template: Option<String>,
    context: Option<&Value>,
    defaults: Option<&Value>,
) -> Result<Result<NewContent, Check>, StateError> {
    // Salt refuses a download it cannot verify before downloading it.
    if let [only] = list {
        if source::is_remote(&only.url)
            && !skip_verify
            && only.hash.is_none()
            && source_hash.is_none()
        {
            return Ok(Err(Check::fail(source::unverifiable(&only.url).0)));
        }
    }
    let expected = |s: &SourceRef| {
        let spec = s.hash.clone().or_else(|| source_hash.clone())?;
        (source::is_remote(&s.url) && !skip_verify)
            .then(|| source::checksum(host, &spec, &s.url, source_hash_name.as_deref()).ok())
            .flatten()
    };
    let (chosen, bytes) = match source::first_existing(host, list, &expected) {
        Ok(found) => found,
        Err(e) => return Ok(Err(Check::fail(e.0))),
    };
    let bytes = match &template {
        None => bytes,
        Some(t) => {
            let mut vars = Map::new();
            vars.insert("name".into(), Value::String(target.name.clone()));
            vars.insert("source".into(), Value::String(chosen.url.clone()));
            let owner = |o: &Option<super::owner::Owner>| {
                o.as_ref().map_or(Value::Null, |o| o.shown.clone())
            };
            vars.insert("user".into(), owner(&target.perms.user));
            vars.insert("group".into(), owner(&target.perms.group));
            vars.insert(
                "mode".into(),
                target
                    .perms
                    .mode
                    .map_or(Value::Null, |m| Value::String(mode_str(m))),
            );
            vars.insert("attrs".into(), Value::Null);
            for extra in [defaults, context].into_iter().flatten() {
                if let Value::Object(m) = extra {
                    vars.extend(m.clone());
                }
            }
            // What file.accumulated states of this run gathered for it.
            if let Some(acc) = super::accumulated::template_var(host, &target.name) {
                vars.insert("accumulator".into(), acc);
            }
            match source::render(host, t, &chosen.url, vars) {
                Ok(b) => b,
                Err(e) => return Ok(Err(Check::fail(e.0))),
            }
        }
    };
    let hash_spec = chosen.hash.clone().or(source_hash);
    if source::is_remote(&chosen.url) && hash_spec.is_none() && !skip_verify {
        return Ok(Err(Check::fail(source::unverifiable(&chosen.url).0)));
    }
    if let (Some(spec), false) = (hash_spec, skip_verify) {
        let sum = match source::checksum(host, &spec, &chosen.url, source_hash_name.as_deref()) {
            Ok(s) => s,
            Err(e) => return Ok(Err(Check::fail(e.0))),
        };
        let actual = sum.kind.digest(&bytes);
        if actual != sum.hex {
            return Ok(Err(Check::fail(format!(
                "Specified {} checksum for {} ({}) does not match actual checksum ({actual}). \
                 If the 'source_hash' value refers to a remote file with multiple possible matches, \
                 then it may be necessary to set 'source_hash_name'.",
                sum.kind.name(),
                crate::remote::redact(&chosen.url),
                sum.hex
            ))));
        }
    }
    Ok(Ok(NewContent::Source(bytes)))
}
