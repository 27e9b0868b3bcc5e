//! PyYAML's `SafeRepresenter` and serializer: a value into the event list the
//! emitter writes, with the same scalar texts, implicit-tag flags and
//! collection styles PyYAML hands libyaml.
use super::emit::{emit, Event, ScalarEvent};
use super::resolve::{resolve_plain, Implicit};
use crate::data::{key_value, sorted_like_python, KeyKind, Value};

/// The `yaml.dump` keyword arguments Salt's callers vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpOptions {
    /// PyYAML's `default_flow_style`: `Some(true)` writes every collection in
    /// flow style (`{a: [1, 2]}`), `Some(false)` every non-empty one in block
    /// style, `None` uses flow style only for collections of scalars.
    pub default_flow_style: Option<bool>,
    /// PyYAML's `sort_keys`. PyYAML sorts a plain `dict`'s keys; Salt's
    /// ordered dumper keeps an `OrderedDict`'s order (what SLS and pillar
    /// files load as), while `salt.serializers.yaml` sorts both.
    pub sort_keys: bool,
    /// Write non-ASCII characters as they are instead of `\u` escapes.
    pub allow_unicode: bool,
}

/// `salt.utils.yaml.safe_dump(v, default_flow_style=True)` of an ordered
/// mapping: what Salt's Jinja `yaml` filter prints (it `.strip()`s this).
pub fn dump_flow(v: &Value) -> String {
    dump(
        v,
        &DumpOptions {
            default_flow_style: Some(true),
            sort_keys: false,
            allow_unicode: true,
        },
    )
}

/// `salt.utils.yaml.safe_dump(v, default_flow_style=False)` of an ordered
/// mapping (the Jinja `yaml(False)` filter).
pub fn dump_block(v: &Value) -> String {
    dump(
        v,
        &DumpOptions {
            default_flow_style: Some(false),
            sort_keys: false,
            allow_unicode: true,
        },
    )
}

/// `salt.serializers.yaml.serialize(v)`, which `slsutil.serialize('yaml', v)`
/// calls. It differs from [`dump_block`]: keys are always sorted, collections
/// of scalars are written in flow style, non-ASCII is escaped, and the final
/// line break is dropped.
pub fn serialize(v: &Value) -> String {
    let out = dump(
        v,
        &DumpOptions {
            default_flow_style: None,
            sort_keys: true,
            allow_unicode: false,
        },
    );
    if let Some(s) = out.strip_suffix("\n...\n") {
        return s.to_string();
    }
    match out.strip_suffix('\n') {
        Some(s) => s.to_string(),
        None => out,
    }
}

/// `yaml.dump(v, Dumper=SafeDumper-like, **options)` through libyaml.
pub fn dump(v: &Value, opts: &DumpOptions) -> String {
    let mut events = Vec::new();
    represent(v, opts, &mut events);
    emit(&events, opts.allow_unicode)
}

/// PyYAML's `represent_float`: `repr()` lower-cased, with `.0` added before
/// an exponent so YAML 1.1 still reads it as a float.
pub(crate) fn float_text(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let text = crate::pyfmt::float_repr(f).to_lowercase();
    if !text.contains('.') && text.contains('e') {
        return text.replacen('e', ".0e", 1);
    }
    text
}

/// A scalar as PyYAML's serializer flags it: `plain_implicit` when the
/// resolver would give a plain scalar this tag back, `quoted_implicit` when
/// the tag is `str` (what any quoted scalar resolves to).
pub(crate) fn scalar_event(value: String, tag: Implicit) -> ScalarEvent {
    let name = match tag {
        Implicit::Bool => "bool",
        Implicit::Float => "float",
        Implicit::Int => "int",
        Implicit::Null => "null",
        _ => "str",
    };
    ScalarEvent {
        plain_implicit: resolve_plain(&value) == tag,
        quoted_implicit: tag == Implicit::Str,
        tag: format!("tag:yaml.org,2002:{name}"),
        value,
    }
}

fn scalar(v: &Value) -> Option<ScalarEvent> {
    Some(match v {
        Value::Null => scalar_event("null".into(), Implicit::Null),
        Value::Bool(b) => scalar_event(b.to_string(), Implicit::Bool),
        Value::Number(n) if n.is_f64() => {
            scalar_event(float_text(n.as_f64().unwrap_or(f64::NAN)), Implicit::Float)
        }
        Value::Number(n) => scalar_event(n.to_string(), Implicit::Int),
        Value::String(s) => scalar_event(s.clone(), Implicit::Str),
        Value::Array(_) | Value::Object(_) => return None,
    })
}

fn represent(v: &Value, opts: &DumpOptions, out: &mut Vec<Event>) {
    if let Some(s) = scalar(v) {
        out.push(Event::Scalar(s));
        return;
    }
    // PyYAML's "best style" for default_flow_style=None: flow only when every
    // item (and key) is a scalar without a forced style, which ours never have.
    let is_scalar = |v: &Value| !matches!(v, Value::Array(_) | Value::Object(_));
    match v {
        Value::Array(items) => {
            let flow = opts
                .default_flow_style
                .unwrap_or_else(|| items.iter().all(is_scalar));
            out.push(Event::SeqStart { flow });
            for item in items {
                represent(item, opts, out);
            }
            out.push(Event::SeqEnd);
        }
        Value::Object(map) => {
            let flow = opts
                .default_flow_style
                .unwrap_or_else(|| map.values().all(is_scalar));
            out.push(Event::MapStart { flow });
            // PyYAML sorts inside `try`: keys Python cannot compare (a string
            // and an int) stay in insertion order.
            let entries: Vec<(&String, &Value)> = match opts.sort_keys {
                true => sorted_like_python(map).unwrap_or_else(|_| map.iter().collect()),
                false => map.iter().collect(),
            };
            for (k, item) in entries {
                let key = match map.key_kind(k) {
                    KeyKind::Str => scalar_event(k.clone(), Implicit::Str),
                    // The text is Python's, exact past 64 bits too.
                    KeyKind::Int => scalar_event(k.clone(), Implicit::Int),
                    kind => scalar(&key_value(k, kind))
                        .unwrap_or_else(|| scalar_event(k.clone(), Implicit::Str)),
                };
                out.push(Event::Scalar(key));
                represent(item, opts, out);
            }
            out.push(Event::MapEnd);
        }
        _ => {}
    }
}
