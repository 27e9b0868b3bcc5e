//! Numbers the way PyYAML's constructors (with Salt's zero stripping) build
//! them. Python integers have no size limit, so a small arbitrary-precision
//! integer is kept here: it decides which keys collide and prints big keys
//! exactly, even though a JSON value can only hold 64 bits.
use crate::data::Value;

/// An integer of any size: sign and little-endian base-2^32 magnitude, with
/// no trailing zero limbs (zero is an empty magnitude and never negative).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyInt {
    neg: bool,
    mag: Vec<u32>,
}

impl PyInt {
    pub(crate) fn zero() -> Self {
        PyInt {
            neg: false,
            mag: Vec::new(),
        }
    }

    pub(crate) fn from_i128(v: i128) -> Self {
        let m = v.unsigned_abs();
        let mut r = PyInt {
            neg: false,
            mag: (0..4).map(|i| (m >> (32 * i)) as u32).collect(),
        };
        r.normalize();
        r.neg = v < 0 && !r.mag.is_empty();
        r
    }

    fn normalize(&mut self) {
        while self.mag.last() == Some(&0) {
            self.mag.pop();
        }
        if self.mag.is_empty() {
            self.neg = false;
        }
    }

    /// self = self * mul + add, on the magnitude.
    fn mul_add(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.mag {
            let v = u64::from(*limb) * u64::from(mul) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.mag.push(carry as u32);
        }
    }

    /// Adds another non-negative integer to this non-negative one.
    fn add_magnitude(&mut self, other: &PyInt) {
        let mut carry = 0u64;
        for i in 0..other.mag.len().max(self.mag.len()) {
            if i == self.mag.len() {
                self.mag.push(0);
            }
            let v = u64::from(self.mag[i]) + u64::from(*other.mag.get(i).unwrap_or(&0)) + carry;
            self.mag[i] = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.mag.push(carry as u32);
        }
    }

    pub(crate) fn negate(mut self) -> Self {
        self.neg = !self.neg && !self.mag.is_empty();
        self
    }

    pub(crate) fn to_i128(&self) -> Option<i128> {
        if self.mag.len() > 4 {
            return None;
        }
        let mut m: u128 = 0;
        for limb in self.mag.iter().rev() {
            m = (m << 32) | u128::from(*limb);
        }
        if self.neg {
            0i128.checked_sub_unsigned(m)
        } else {
            i128::try_from(m).ok()
        }
    }

    /// Python's `str(int)`.
    pub(crate) fn to_decimal(&self) -> String {
        if self.mag.is_empty() {
            return "0".to_string();
        }
        let mut mag = self.mag.clone();
        let mut chunks = Vec::new();
        while !mag.is_empty() {
            let mut rem = 0u64;
            for limb in mag.iter_mut().rev() {
                let cur = (rem << 32) | u64::from(*limb);
                *limb = (cur / 1_000_000_000) as u32;
                rem = cur % 1_000_000_000;
            }
            while mag.last() == Some(&0) {
                mag.pop();
            }
            chunks.push(rem as u32);
        }
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        let mut it = chunks.iter().rev();
        if let Some(first) = it.next() {
            s.push_str(&first.to_string());
        }
        for c in it {
            s.push_str(&format!("{c:09}"));
        }
        s
    }

    /// The nearest float, as Python's `float(int)` (big values round through
    /// their decimal text, which Rust's parser rounds correctly).
    pub(crate) fn to_f64(&self) -> f64 {
        match self.to_i128() {
            Some(v) if v.unsigned_abs() < (1u128 << 53) => v as f64,
            _ => self.to_decimal().parse().unwrap_or(f64::NAN),
        }
    }

    /// The JSON number: exact when it fits 64 bits, else the nearest float
    /// (JSON values here cannot hold wider integers).
    pub(crate) fn to_json(&self) -> Value {
        if let Some(v) = self.to_i128() {
            if let Ok(i) = i64::try_from(v) {
                return Value::from(i);
            }
            if let Ok(u) = u64::try_from(v) {
                return Value::from(u);
            }
        }
        float_to_json(self.to_f64())
    }
}

/// A float as a data value, infinities and NaN included (`crate::data`).
pub(crate) fn float_to_json(f: f64) -> Value {
    Value::from(f)
}

fn digit_value(c: char, base: u32) -> Option<u32> {
    c.to_digit(base)
}

/// Python's `int(text, base)` for base 2, 8, 10 or 16 (the text has no
/// underscores left): surrounding whitespace, one sign, and for 2/8/16 the
/// matching `0b`/`0o`/`0x` prefix are allowed.
pub(crate) fn parse_int(text: &str, base: u32) -> Option<PyInt> {
    let t = text.trim();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let prefix = match base {
        2 => Some("0b"),
        8 => Some("0o"),
        16 => Some("0x"),
        _ => None,
    };
    let t = match prefix {
        Some(p) if t.len() >= 2 && t[..2].eq_ignore_ascii_case(p) => &t[2..],
        _ => t,
    };
    if t.is_empty() {
        return None;
    }
    let mut r = PyInt::zero();
    for c in t.chars() {
        r.mul_add(base, digit_value(c, base)?);
    }
    r.normalize();
    Some(if neg { r.negate() } else { r })
}

/// PyYAML's `construct_yaml_int`, after Salt's `construct_scalar` has
/// stripped leading zeros (so `0644` is 644 but `-0644` is still octal).
pub(crate) fn construct_int(raw: &str) -> Result<PyInt, String> {
    let mut value = raw;
    if value != "0"
        && value.starts_with('0')
        && !value.starts_with("0b")
        && !value.starts_with("0x")
    {
        value = value.trim_start_matches('0');
        if value.is_empty() {
            value = "0";
        }
    }
    let value = value.replace('_', "");
    let invalid = || format!("invalid literal for int(): '{raw}'");
    let first = value
        .chars()
        .next()
        .ok_or_else(|| format!("cannot read an integer from '{raw}': it has no digits"))?;
    let neg = first == '-';
    let body = if first == '-' || first == '+' {
        &value[1..]
    } else {
        &value[..]
    };
    if body.is_empty() {
        return Err(format!(
            "cannot read an integer from '{raw}': it has no digits"
        ));
    }
    let magnitude = if body == "0" {
        PyInt::zero()
    } else if let Some(bin) = body.strip_prefix("0b") {
        parse_int(bin, 2).ok_or_else(invalid)?
    } else if let Some(hex) = body.strip_prefix("0x") {
        parse_int(hex, 16).ok_or_else(invalid)?
    } else if body.starts_with('0') {
        parse_int(body, 8).ok_or_else(invalid)?
    } else if body.contains(':') {
        // Horner's rule gives exactly Python's sum of digit * 60**i.
        let mut acc = PyInt::zero();
        for part in body.split(':') {
            let p = parse_int(part, 10).ok_or_else(invalid)?;
            acc.mul_add(60, 0);
            if p.neg {
                // Only an explicit `!!int "1:-5"` has a signed part; Python
                // would compute with it, this refuses it rather than model it.
                return Err(invalid());
            }
            acc.add_magnitude(&p);
            acc.normalize();
        }
        acc
    } else {
        parse_int(body, 10).ok_or_else(invalid)?
    };
    Ok(if neg { magnitude.negate() } else { magnitude })
}

/// Python's `float(text)` on text that has no underscores and is lower case.
fn py_float(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() || t.contains('_') {
        return None;
    }
    t.parse::<f64>().ok()
}

/// PyYAML's `construct_yaml_float`.
pub(crate) fn construct_float(raw: &str) -> Result<f64, String> {
    let value = raw.replace('_', "").to_lowercase();
    let invalid = || format!("could not convert string to float: '{raw}'");
    let first = value.chars().next().ok_or_else(invalid)?;
    let sign = if first == '-' { -1.0 } else { 1.0 };
    let body = if first == '-' || first == '+' {
        &value[1..]
    } else {
        &value[..]
    };
    if body == ".inf" {
        return Ok(sign * f64::INFINITY);
    }
    if body == ".nan" {
        return Ok(f64::NAN);
    }
    if body.contains(':') {
        let mut parts = body
            .split(':')
            .map(|p| py_float(p).ok_or_else(invalid))
            .collect::<Result<Vec<f64>, String>>()?;
        parts.reverse();
        // Same operation order as PyYAML, so the result is bit-identical.
        let mut base: u128 = 1;
        let mut total = 0.0f64;
        for (i, digit) in parts.iter().enumerate() {
            let b = if i < 20 {
                base as f64
            } else {
                60f64.powi(i as i32)
            };
            total += digit * b;
            base = base.saturating_mul(60);
        }
        return Ok(sign * total);
    }
    py_float(body).map(|f| sign * f).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_like_salt() {
        let cases = [
            ("0644", "644"),
            ("-0644", "-420"),
            ("+0644", "420"),
            ("00", "0"),
            ("0_644", "644"),
            ("0b101", "5"),
            ("-0x1F", "-31"),
            ("1:30", "90"),
            ("190:20:30", "685230"),
            ("1_000", "1000"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("-18446744073709551616", "-18446744073709551616"),
        ];
        for (raw, want) in cases {
            assert_eq!(construct_int(raw).unwrap().to_decimal(), want, "{raw}");
        }
        assert!(construct_int("0_").is_err());
        assert!(construct_int("-").is_err());
        assert!(construct_int("0o17").is_err());
        assert!(construct_int("abc").is_err());
        assert_eq!(
            construct_int("18446744073709551615").unwrap().to_json(),
            Value::from(u64::MAX)
        );
    }

    #[test]
    fn floats_like_pyyaml() {
        assert_eq!(construct_float("1.0e+3").unwrap(), 1000.0);
        assert_eq!(construct_float("-.INF").unwrap(), f64::NEG_INFINITY);
        assert!(construct_float(".NaN").unwrap().is_nan());
        assert_eq!(construct_float("1:30.5").unwrap(), 90.5);
        assert_eq!(construct_float("1_0.5").unwrap(), 10.5);
        assert_eq!(construct_float("0644").unwrap(), 644.0);
        assert!(construct_float("abc").is_err());
        assert!(construct_float("").is_err());
    }
}
