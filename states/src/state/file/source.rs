//! Where a managed file's content comes from: `source` (salt://, http(s)://
//! or a path on the minion; a list means the first that exists),
//! `source_hash`, templates.
use common::data::{Map, Value};
use md5::{Digest as _, Md5};

use super::super::source_hash::SourceSum;
use super::super::{HostRead, StateError};

/// One candidate of a `source` list: its URL and the hash given with it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SourceRef {
    pub url: String,
    pub hash: Option<String>,
}

/// Reads `source`: a string, or a list of strings and `{url: hash}` maps.
pub(super) fn source_list(value: &Value) -> Result<Vec<SourceRef>, StateError> {
    let one = |v: &Value| -> Result<SourceRef, StateError> {
        match v {
            Value::String(s) => Ok(SourceRef {
                url: s.clone(),
                hash: None,
            }),
            Value::Object(m) if m.len() == 1 => {
                let (url, hash) = m
                    .iter()
                    .next()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap_or_default();
                Ok(SourceRef {
                    url,
                    hash: match hash {
                        Value::Null => None,
                        Value::String(h) if h.is_empty() => None,
                        other => Some(common::pyfmt::py_str(&other)),
                    },
                })
            }
            other => Err(StateError::args(format!(
                "'source' entries must be URLs or {{URL: hash}} maps, got {other}"
            ))),
        }
    };
    match value {
        Value::Array(items) if items.is_empty() => {
            Err(StateError::args("'source' is an empty list"))
        }
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

/// What went wrong getting a source, worded as Salt words it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SourceError(pub String);

/// The path on the minion of a local source (`/x` or `file:///x`).
fn local_path(url: &str) -> Option<&str> {
    if url.starts_with('/') {
        return Some(url);
    }
    url.strip_prefix("file://")
}

fn unsupported_scheme(url: &str) -> Option<SourceError> {
    let scheme = url.split_once("://").map(|(s, _)| s)?;
    (!matches!(scheme, "salt" | "file") && !crate::remote::is_remote(url)).then(|| {
        SourceError(format!(
            "Unable to manage file: source {url}: {scheme}:// sources are not supported by Brine; \
             serve the file from salt:// or http(s):// instead"
        ))
    })
}

/// Whether `url` is downloaded (http or https), so needs a `source_hash`
/// unless `skip_verify`.
pub(super) fn is_remote(url: &str) -> bool {
    crate::remote::is_remote(url)
}

/// Salt's refusal of a download it could not verify.
pub(super) fn unverifiable(url: &str) -> SourceError {
    SourceError(format!(
        "Unable to verify upstream hash of source file {}, please set source_hash or set skip_verify to True",
        crate::remote::redact(url)
    ))
}

/// The bytes of one source.
pub(super) fn fetch(host: &HostRead, url: &str) -> Result<Vec<u8>, SourceError> {
    fetch_expecting(host, url, None)
}

/// The bytes of one source; for a download, `expected` lets the minion's
/// cache answer instead (the caller still compares).
pub(super) fn fetch_expecting(
    host: &HostRead,
    url: &str,
    expected: Option<&Checksum>,
) -> Result<Vec<u8>, SourceError> {
    if let Some(e) = unsupported_scheme(url) {
        return Err(e);
    }
    if is_remote(url) {
        let sum = expected.map(|c| SourceSum {
            hash_type: c.kind.name(),
            hsum: c.hex.clone(),
        });
        return host.sources().fetch_remote(url, sum.as_ref()).map_err(|e| {
            SourceError(format!(
                "Failed to cache {}: {e}",
                crate::remote::redact(url)
            ))
        });
    }
    if let Some(path) = local_path(url) {
        let real = host.path(path).map_err(|e| SourceError(e.to_string()))?;
        return std::fs::read(&real)
            .map_err(|_| SourceError(format!("Local file source {path} does not exist")));
    }
    if url.starts_with("salt://") {
        return host
            .sources()
            .fetch(url)
            .map_err(|e| SourceError(e.to_string()));
    }
    Err(SourceError(format!(
        "Unable to manage file: invalid source {url:?}: use salt:// or an absolute path"
    )))
}

/// The first source of the list that exists, with its bytes (unless it is a
/// template, which is rendered instead of read). `expected` gives a
/// download's checksum when it is known, so a cached copy can answer.
pub(super) fn first_existing(
    host: &HostRead,
    sources: &[SourceRef],
    expected: &dyn Fn(&SourceRef) -> Option<Checksum>,
) -> Result<(SourceRef, Vec<u8>), SourceError> {
    if let [only] = sources {
        return fetch_expecting(host, &only.url, expected(only).as_ref())
            .map(|b| (only.clone(), b));
    }
    for s in sources {
        if let Some(e) = unsupported_scheme(&s.url) {
            return Err(e);
        }
        if let Ok(bytes) = fetch_expecting(host, &s.url, expected(s).as_ref()) {
            return Ok((s.clone(), bytes));
        }
    }
    Err(SourceError(
        "Unable to manage file: none of the specified sources were found".into(),
    ))
}

/// A hash algorithm Salt accepts in `source_hash`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum HashKind {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HashKind {
    pub(super) fn parse(name: &str) -> Option<HashKind> {
        Some(match name.to_ascii_lowercase().as_str() {
            "md5" => HashKind::Md5,
            "sha1" => HashKind::Sha1,
            "sha224" => HashKind::Sha224,
            "sha256" => HashKind::Sha256,
            "sha384" => HashKind::Sha384,
            "sha512" => HashKind::Sha512,
            _ => return None,
        })
    }

    fn by_len(len: usize) -> Option<HashKind> {
        Some(match len {
            32 => HashKind::Md5,
            40 => HashKind::Sha1,
            56 => HashKind::Sha224,
            64 => HashKind::Sha256,
            96 => HashKind::Sha384,
            128 => HashKind::Sha512,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Sha224 => "sha224",
            HashKind::Sha256 => "sha256",
            HashKind::Sha384 => "sha384",
            HashKind::Sha512 => "sha512",
        }
    }

    pub fn digest(self, bytes: &[u8]) -> String {
        fn hex(d: &[u8]) -> String {
            d.iter().map(|b| format!("{b:02x}")).collect()
        }
        match self {
            HashKind::Md5 => hex(&Md5::digest(bytes)),
            HashKind::Sha1 => hex(&sha1::Sha1::digest(bytes)),
            HashKind::Sha224 => hex(&sha2::Sha224::digest(bytes)),
            HashKind::Sha256 => hex(&sha2::Sha256::digest(bytes)),
            HashKind::Sha384 => hex(&sha2::Sha384::digest(bytes)),
            HashKind::Sha512 => hex(&sha2::Sha512::digest(bytes)),
        }
    }
}

/// An expected checksum.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Checksum {
    pub kind: HashKind,
    pub hex: String,
}

impl Checksum {
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.kind.digest(bytes) == self.hex
    }
}

fn bare_hash(text: &str) -> Option<Checksum> {
    let text = text.trim();
    let (kind, hex) = match text.split_once('=') {
        Some((k, h)) => (HashKind::parse(k)?, h.trim()),
        None => (HashKind::by_len(text.len())?, text),
    };
    (HashKind::by_len(hex.len()) == Some(kind) && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(
        || Checksum {
            kind,
            hex: hex.to_ascii_lowercase(),
        },
    )
}

/// Reads `source_hash`: `sha256=<hex>`, a bare hex digest (its length names
/// the algorithm), or a file of checksums (salt://, http(s):// or a local path) in
/// `sha256sum` form, where the line for `hash_name` (or the source's file
/// name) is used, or the only checksum in it.
pub(super) fn checksum(
    host: &HostRead,
    spec: &str,
    source_url: &str,
    hash_name: Option<&str>,
) -> Result<Checksum, SourceError> {
    if let Some(sum) = bare_hash(spec) {
        return Ok(sum);
    }
    if !(spec.starts_with("salt://")
        || spec.starts_with('/')
        || spec.starts_with("file://")
        || is_remote(spec))
    {
        return Err(SourceError(format!(
            "Invalid source_hash {spec:?}: give <type>=<hex>, a bare hex digest, or a checksum file"
        )));
    }
    let text = fetch(host, spec).map(|b| String::from_utf8_lossy(&b).into_owned())?;
    let wanted = hash_name
        .map(str::to_string)
        .unwrap_or_else(|| source_url.rsplit('/').next().unwrap_or("").to_string());
    let mut found: Vec<(Checksum, Option<String>)> = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next().and_then(bare_hash) else {
            continue;
        };
        let file = words.next().map(|f| f.trim_start_matches('*').to_string());
        found.push((first, file));
    }
    let by_name = found.iter().find(|(_, f)| {
        f.as_deref()
            .is_some_and(|f| f == wanted || f.rsplit('/').next() == Some(wanted.as_str()))
    });
    match (by_name, found.as_slice()) {
        (Some((sum, _)), _) => Ok(sum.clone()),
        (None, [(sum, _)]) => Ok(sum.clone()),
        _ => Err(SourceError(format!(
            "Source hash file {spec} contains no checksum for {wanted}; set source_hash_name"
        ))),
    }
}

/// Renders a `template: jinja` source with `context` over `defaults`, plus
/// the variables Salt gives file templates (`name`, `source`, `user`, …).
pub(super) fn render(
    host: &HostRead,
    template: &str,
    url: &str,
    vars: Map<String, Value>,
) -> Result<Vec<u8>, SourceError> {
    if !template.eq_ignore_ascii_case("jinja") {
        return Err(SourceError(format!(
            "Specified template format {template} is not supported"
        )));
    }
    if !url.starts_with("salt://") {
        return Err(SourceError(format!(
            "Unable to manage file: templates must come from salt://, got {url}"
        )));
    }
    host.sources()
        .render(url, &vars)
        .map(String::into_bytes)
        .map_err(|e| SourceError(format!("Unable to manage file: {e}")))
}
