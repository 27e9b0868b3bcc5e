//! `file.serialize`: data written as YAML or JSON the way Salt's
//! serializers print it, then managed like any file content.
use common::data::Value;

use super::super::{Args, Check, HostRead, StateError};
use super::file_plan::{plan_file, NewContent, Target};
use super::fsio;
use super::owner::Accounts;
use super::perms::Perms;
use super::{absolute_name, read_backup};

/// Salt's `yaml.serialize` (block style) or `json.serialize` (`indent=2`,
/// sorted keys), plus the newline the state adds.
fn serialize(format: &str, data: &Value) -> String {
    let mut text = match format {
        // Through salt.utils.json.dumps, which leaves non-ASCII as it is.
        "json" => common::pyfmt::json_dumps_with(
            data,
            &common::pyfmt::JsonOptions {
                sort_keys: true,
                indent: Some(2),
                ensure_ascii: false,
            },
        ),
        _ => {
            let y = common::yaml::dump_block(&sorted(data));
            match y.strip_suffix("\n...\n") {
                Some(t) => t.to_string(),
                None => y.strip_suffix('\n').map(str::to_string).unwrap_or(y),
            }
        }
    };
    text.push('\n');
    text
}

/// Maps with their keys sorted, as PyYAML's `yaml.dump` prints dicts.
fn sorted(data: &Value) -> Value {
    match data {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn deserialize(format: &str, text: &str) -> Result<Value, String> {
    match format {
        "json" => serde_json::from_str(text).map_err(|e| e.to_string()),
        _ => common::yaml::load(text).map_err(|e| e.to_string()),
    }
}

pub(super) fn check(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = match absolute_name(args) {
        Ok(n) => n,
        Err(fail) => return Ok(fail),
    };
    let dataset = args.get("dataset");
    let dataset_pillar = args.str("dataset_pillar")?.filter(|s| !s.is_empty());
    let backup = read_backup(args)?;
    let makedirs = args.bool_or("makedirs", false)?;
    let show_changes = args.bool_or("show_changes", true)?;
    let create = args.bool_or("create", true)?;
    let merge_if_exists = args.bool_or("merge_if_exists", false)?;
    let serializer = args.str("serializer")?;
    let formatter = args.str("formatter")?;
    let accounts = Accounts::load(host);
    let perms = Perms::from_args(
        &accounts,
        args.get("user").or(args.get("owner")),
        args.get("group"),
        args.mode("mode")?,
    )?;
    for unsupported in ["serializer_opts", "deserializer_opts", "encoding"] {
        if args.get(unsupported).is_some() {
            return Ok(Check::fail(format!(
                "'{unsupported}' is not supported by Brine yet"
            )));
        }
    }
    let real = host.path(&name)?;
    if !create && !real.is_file() {
        return Ok(Check::clean(format!(
            "File {name} is not present and is not set for creation"
        )));
    }
    if serializer.is_some() && formatter.is_some() {
        return Ok(Check::fail(
            "Only one of serializer and formatter are allowed",
        ));
    }
    let format = serializer
        .or(formatter)
        .unwrap_or_else(|| "yaml".into())
        .to_lowercase();
    if dataset.is_some_and(common::data::is_truthy) && dataset_pillar.is_some() {
        return Ok(Check::fail(
            "Only one of 'dataset' and 'dataset_pillar' is permitted",
        ));
    }
    let mut data = match (&dataset_pillar, dataset) {
        (Some(key), _) => common::data::traverse(host.pillar(), key, ":").cloned(),
        (None, d) => d.cloned(),
    };
    let Some(mut dataset) = data.take() else {
        return Ok(Check::fail(
            "Neither 'dataset' nor 'dataset_pillar' was defined",
        ));
    };
    if !matches!(format.as_str(), "yaml" | "json") {
        return Ok(Check::fail(format!(
            "The {format} serializer could not be found. It either does not exist or its prerequisites are not installed."
        )));
    }
    if merge_if_exists && real.is_file() {
        let text = String::from_utf8_lossy(&std::fs::read(&real)?).into_owned();
        let existing = match deserialize(&format, &text) {
            Ok(v) => v,
            Err(e) => {
                return Ok(Check::fail(format!(
                    "Failed to deserialize existing data: {e}"
                )))
            }
        };
        if !existing.is_null() {
            let mut merged = existing.clone();
            common::data::merge_recursive(&mut merged, &dataset, false);
            if merged == existing {
                return Ok(Check::clean(format!(
                    "The file {name} is in the correct state"
                )));
            }
            dataset = merged;
        }
    }
    let contents = serialize(&format, &dataset);
    let target = Target {
        name: name.clone(),
        real_name: fsio::resolve_links(host, &name)?,
        perms,
        makedirs,
        dir_mode: None,
        backup,
        show_changes,
    };
    plan_file(
        host,
        target,
        Some(NewContent::Contents(contents.into_bytes())),
        format!("Dataset will be serialized and stored into {name}"),
    )
}
