//! `source_hash` as Salt reads it: `<type>=<hex>`, a bare hex digest (type
//! from its length), or a hash file (`salt://`, `http(s)://` or a local
//! path) with lines like `<hex>  <file name>`.
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// A digest to compare the source with.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSum {
    pub hash_type: &'static str,
    pub hsum: String,
}

const TYPES: &[(&str, usize)] = &[
    ("md5", 32),
    ("sha1", 40),
    ("sha224", 56),
    ("sha256", 64),
    ("sha384", 96),
    ("sha512", 128),
];

fn type_for_len(len: usize) -> Option<&'static str> {
    TYPES.iter().find(|(_, l)| *l == len).map(|(t, _)| *t)
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// `<type>=<hex>` or a bare digest; None if `text` is neither.
pub fn parse_inline(text: &str) -> Option<SourceSum> {
    let text = text.trim();
    if let Some((kind, hex)) = text.split_once('=') {
        let kind = kind.trim().to_lowercase();
        let hex = hex.trim();
        let (name, len) = TYPES.iter().find(|(t, _)| *t == kind)?;
        return (is_hex(hex) && hex.len() == *len).then(|| SourceSum {
            hash_type: name,
            hsum: hex.to_lowercase(),
        });
    }
    let hash_type = type_for_len(text.len()).filter(|_| is_hex(text))?;
    Some(SourceSum {
        hash_type,
        hsum: text.to_lowercase(),
    })
}

/// Finds the digest for `file_name` (a source's base name, or
/// `source_hash_name` verbatim) in the text of a hash file. A file holding a
/// single digest and no names answers for any file.
pub fn find_in_file(text: &str, file_name: &str, exact_name: Option<&str>) -> Option<SourceSum> {
    let mut lone = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        let (digest, name) = match parse_inline(first) {
            Some(sum) => (sum, words.next()),
            // BSD style: `SHA256 (file) = hex`.
            None => match line.rsplit_once('=') {
                Some((left, hex)) => match (
                    parse_inline(hex),
                    left.split_once('(').and_then(|(_, n)| n.rsplit_once(')')),
                ) {
                    (Some(sum), Some((name, _))) => (sum, Some(name.trim())),
                    _ => continue,
                },
                None => continue,
            },
        };
        let Some(name) = name.map(|n| n.trim_start_matches('*')) else {
            lone.push(digest);
            continue;
        };
        let matches = match exact_name {
            Some(exact) => name == exact,
            None => name == file_name || name.rsplit('/').next() == Some(file_name),
        };
        if matches {
            return Some(digest);
        }
    }
    (lone.len() == 1).then(|| lone.remove(0))
}

/// The hex digest of `bytes` with `hash_type`.
pub fn digest(hash_type: &str, bytes: &[u8]) -> String {
    fn hex(d: impl AsRef<[u8]>) -> String {
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
    match hash_type {
        "md5" => hex(Md5::digest(bytes)),
        "sha1" => hex(Sha1::digest(bytes)),
        "sha224" => hex(Sha224::digest(bytes)),
        "sha384" => hex(Sha384::digest(bytes)),
        "sha512" => hex(Sha512::digest(bytes)),
        _ => hex(Sha256::digest(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC_MD5: &str = "900150983cd24fb0d6963f7d28e17f72";
    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn inline_forms() {
        assert_eq!(
            parse_inline(&format!("sha256={ABC_SHA256}")),
            Some(SourceSum {
                hash_type: "sha256",
                hsum: ABC_SHA256.into()
            })
        );
        assert_eq!(parse_inline(ABC_MD5).unwrap().hash_type, "md5");
        assert_eq!(parse_inline(&ABC_MD5.to_uppercase()).unwrap().hsum, ABC_MD5);
        assert!(parse_inline("md5=abc").is_none());
        assert!(parse_inline("crc=00").is_none());
        assert!(parse_inline("not a hash").is_none());
    }

    #[test]
    fn digests() {
        assert_eq!(digest("md5", b"abc"), ABC_MD5);
        assert_eq!(digest("sha256", b"abc"), ABC_SHA256);
        assert_eq!(
            digest("sha1", b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn hash_files() {
        let text = format!("{ABC_MD5}  other.tar.gz\n{ABC_SHA256} *./dir/app.tar.gz\n");
        assert_eq!(
            find_in_file(&text, "app.tar.gz", None).unwrap().hsum,
            ABC_SHA256
        );
        assert_eq!(
            find_in_file(&text, "app.tar.gz", Some("other.tar.gz"))
                .unwrap()
                .hsum,
            ABC_MD5
        );
        assert!(find_in_file(&text, "missing.tar.gz", None).is_none());
        assert_eq!(
            find_in_file(&format!("{ABC_MD5}\n"), "x", None)
                .unwrap()
                .hsum,
            ABC_MD5
        );
        let bsd = format!("SHA256 (app.tar.gz) = {ABC_SHA256}\n");
        assert_eq!(
            find_in_file(&bsd, "app.tar.gz", None).unwrap().hsum,
            ABC_SHA256
        );
    }
}
