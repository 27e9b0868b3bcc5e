//! Python's `'fmt' % args` string formatting, as Salt templates use it.
use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::convert::{py_repr_jinja, py_str_jinja};
use super::mutable::{map_pairs, seq_items};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Evaluates `fmt % arg`: a tuple/list supplies positional values, a dict
/// supplies `%(name)s` values, anything else is the single value.
pub fn format(fmt: &str, arg: &Value) -> Result<Value, Error> {
    // A dict supplies names only when the format asks for %(name)s; otherwise
    // it is one value, as in Python ('%s' % {'k': 'v'}).
    let named = if fmt.contains("%(") {
        map_pairs(arg)
    } else {
        None
    };
    let positional: Vec<Value> = match (&named, arg.kind()) {
        (Some(_), _) => vec![],
        (None, ValueKind::Seq) => seq_items(arg).unwrap_or_default(),
        _ => vec![arg.clone()],
    };
    let mut next = positional.iter();
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut key = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let name: String = chars.by_ref().take_while(|&c| c != ')').collect();
            key = Some(name);
        }
        let mut spec = String::new();
        while let Some(&c) = chars.peek() {
            if "-+ #0123456789.".contains(c) {
                spec.push(c);
                chars.next();
            } else {
                break;
            }
        }
        let conv = chars.next().ok_or_else(|| err("incomplete format"))?;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let value = match &key {
            Some(k) => named
                .as_ref()
                .and_then(|pairs| {
                    pairs
                        .iter()
                        .find(|(pk, _)| pk.as_str() == Some(k))
                        .map(|(_, v)| v.clone())
                })
                .ok_or_else(|| err(format!("KeyError: '{k}'")))?,
            None => next
                .next()
                .cloned()
                .ok_or_else(|| err("not enough arguments for format string"))?,
        };
        out.push_str(&convert(conv, &spec, &value)?);
    }
    if key_mode_unused(&named) && next.next().is_some() {
        return Err(err("not all arguments converted during string formatting"));
    }
    Ok(Value::from(out))
}

fn key_mode_unused(named: &Option<Vec<(Value, Value)>>) -> bool {
    named.is_none()
}

/// The widest field and longest precision a `%` conversion may ask for. The
/// hook that evaluates `%` has no render state to charge, so a number in the
/// template (`'%999999999999d' % 1`) must not size an allocation unchecked;
/// Python gives up on such widths too (MemoryError, "width too big").
const MAX_FIELD: usize = 1 << 20;

fn convert(conv: char, spec: &str, v: &Value) -> Result<String, Error> {
    let left = spec.contains('-');
    let zero = spec.starts_with('0') || spec.contains("+0") || spec.contains(" 0");
    let digits: String = spec
        .trim_start_matches(['-', '+', ' ', '#', '0'])
        .to_string();
    let (width, precision) = match digits.split_once('.') {
        Some((w, p)) => (
            w.parse::<usize>().ok(),
            Some(p.parse::<usize>().unwrap_or(0)),
        ),
        None => (digits.parse::<usize>().ok(), None),
    };
    if width.max(precision).is_some_and(|n| n > MAX_FIELD) {
        return Err(err(format!(
            "a format width or precision over {MAX_FIELD} is not supported"
        )));
    }
    let body = match conv {
        's' => {
            let s = py_str_jinja(v);
            match precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'r' | 'a' => py_repr_jinja(v),
        'd' | 'i' | 'u' => format_int(v)?.to_string(),
        'x' => format!("{:x}", format_int(v)?),
        'X' => format!("{:X}", format_int(v)?),
        'o' => format!("{:o}", format_int(v)?),
        'f' | 'F' => format!("{:.*}", precision.unwrap_or(6), as_float(v)?),
        'e' => format!("{:.*e}", precision.unwrap_or(6), as_float(v)?),
        'g' => {
            let f = as_float(v)?;
            crate::pyfmt::py_str(&serde_json::json!(f))
        }
        c => return Err(err(format!("unsupported format character '{c}'"))),
    };
    let width = width.unwrap_or(0);
    let len = body.chars().count();
    if len >= width {
        return Ok(body);
    }
    let pad = width - len;
    Ok(if left {
        format!("{body}{}", " ".repeat(pad))
    } else if zero && conv != 's' {
        match body.strip_prefix('-') {
            Some(rest) => format!("-{}{rest}", "0".repeat(pad)),
            None => format!("{}{body}", "0".repeat(pad)),
        }
    } else {
        format!("{}{body}", " ".repeat(pad))
    })
}

fn format_int(v: &Value) -> Result<i64, Error> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    if let Ok(f) = f64::try_from(v.clone()) {
        return Ok(f.trunc() as i64);
    }
    Err(err(format!(
        "%d format: a number is required, not {}",
        v.kind()
    )))
}

fn as_float(v: &Value) -> Result<f64, Error> {
    f64::try_from(v.clone()).map_err(|_| err(format!("must be real number, not {}", v.kind())))
}
