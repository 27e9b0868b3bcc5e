//! authorized_keys lines as Salt's ssh module reads and writes them
//! (salt/modules/ssh.py: `_validate_keys`, `_format_auth_line`, `_refine_enc`).
use std::sync::OnceLock;

use regex::Regex;

use super::super::StateError;

/// One key as the file (or a state) gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthKey {
    pub enc: String,
    pub key: String,
    pub comment: String,
    pub options: Vec<String>,
}

impl AuthKey {
    /// Salt's `_format_auth_line` (the trailing space of an empty comment included).
    pub fn line(&self) -> String {
        let mut line = String::new();
        if !self.options.is_empty() {
            line.push_str(&self.options.join(","));
            line.push(' ');
        }
        line.push_str(&format!("{} {} {}\n", self.enc, self.key, self.comment));
        line
    }
}

/// `[options] enc key [comment]` with the key type starting `ssh-`,
/// `ecds…` or `sk-…`.
fn line_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(.*?)\s?((?:sk-)?(?:ssh\-|ecds)[\w@.-]+\s.+)$").expect("valid regex")
    })
}

/// The pattern the ssh_auth state splits its `name` with (no `@`/`.` in the type).
fn name_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(.*?)\s?((?:sk-)?(?:ssh\-|ecds)[\w-]+\s.+)$").expect("valid regex")
    })
}

/// A state's `name`: a bare key (`KEY [comment]`) or a whole line
/// (`[options] enc KEY [comment]`), overriding `enc`/`comment`/`options`.
pub fn split_name(
    name: &str,
    enc: &mut String,
    comment: &mut String,
    options: &mut Vec<String>,
) -> String {
    match name_re().captures(name) {
        None => {
            let mut parts = name.trim_start().splitn(2, char::is_whitespace);
            let key = parts.next().unwrap_or("").to_string();
            if let Some(rest) = parts.next() {
                *comment = rest.trim_start().to_string();
            }
            key
        }
        Some(caps) => {
            let opts = caps.get(1).map_or("", |m| m.as_str());
            if !opts.is_empty() {
                *options = opts.split(',').map(str::to_string).collect();
            }
            let rest = caps.get(2).map_or("", |m| m.as_str());
            let comps = split_max(rest, 3);
            *enc = comps[0].clone();
            let key = comps.get(1).cloned().unwrap_or_default();
            if let Some(c) = comps.get(2) {
                *comment = c.clone();
            }
            key
        }
    }
}

/// Python's `str.split(None, n - 1)`.
fn split_max(s: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if out.len() == n - 1 {
            out.push(rest.to_string());
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    out
}

/// The key of one file line, if it is a key line.
pub fn parse_line(line: &str) -> Option<AuthKey> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let caps = line_re().captures(line)?;
    let comps: Vec<&str> = caps.get(2)?.as_str().split_whitespace().collect();
    if comps.len() < 2 {
        return None;
    }
    let opts = caps.get(1).map_or("", |m| m.as_str());
    Some(AuthKey {
        enc: comps[0].to_string(),
        key: comps[1].to_string(),
        comment: comps[2..].join(" "),
        options: if opts.is_empty() {
            Vec::new()
        } else {
            opts.split(',').map(str::to_string).collect()
        },
    })
}

/// Salt's `_validate_keys`: every valid key of a file, by key, in file order
/// (a key listed twice keeps its first place and its last line).
pub fn validate_keys(text: &str) -> Vec<AuthKey> {
    let mut out: Vec<AuthKey> = Vec::new();
    for k in text.lines().filter_map(parse_line) {
        if !is_base64(&k.key) {
            continue;
        }
        match out.iter_mut().find(|o| o.key == k.key) {
            Some(slot) => *slot = k,
            None => out.push(k),
        }
    }
    out
}

/// Python's `base64.b64decode(key, validate=True)` succeeding: Salt's test
/// of a key (it only ever fingerprints to see whether decoding works).
pub fn is_base64(s: &str) -> bool {
    let data = s.trim_end_matches('=');
    let pads = s.len() - data.len();
    if pads > 2
        || !data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    {
        return false;
    }
    match data.len() % 4 {
        0 => true,
        1 => false,
        2 => pads >= 2,
        _ => pads >= 1,
    }
}

/// Salt's `_refine_enc`.
pub fn refine_enc(enc: &str) -> Result<String, StateError> {
    const ALSO: &[&str] = &[
        "rsa-sha2-512",
        "rsa-sha2-256",
        "rsa-sha2-512-cert-v01@openssh.com",
        "rsa-sha2-256-cert-v01@openssh.com",
        "ssh-rsa-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ssh-ed25519-cert-v01@openssh.com",
        "sk-ssh-ed25519@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
    ];
    Ok(match enc {
        "r" | "rsa" | "ssh-rsa" => "ssh-rsa".into(),
        "d" | "dsa" | "dss" | "ssh-dss" => "ssh-dss".into(),
        "e" | "ecdsa" => "ecdsa-sha2-nistp256".into(),
        "ecdsa-sha2-nistp521" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp256" => enc.into(),
        "ed25519" | "ssh-ed25519" => "ssh-ed25519".into(),
        e if ALSO.contains(&e) => e.into(),
        _ => {
            return Err(StateError::args(format!(
                "Incorrect encryption key type '{enc}'."
            )))
        }
    })
}

/// Salt's `_expand_authorized_keys_path` (`%h`, `%u`, `%%`), made absolute
/// under the home as Salt's `_get_config_file` does.
pub fn config_path(config: &str, user: &str, home: &str) -> Result<String, StateError> {
    let mut out = String::new();
    let mut chars = config.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('u') => out.push_str(user),
            Some('h') => out.push_str(home),
            Some(other) => {
                return Err(StateError::args(format!(
                    "AuthorizedKeysFile path: unknown token character \"%{other}\""
                )))
            }
            None => {
                return Err(StateError::args(
                    "AuthorizedKeysFile path: Last character can't be escape character",
                ))
            }
        }
    }
    Ok(if out.starts_with('/') {
        out
    } else {
        format!("{}/{out}", home.trim_end_matches('/'))
    })
}

/// Python hashlib's algorithms, the ones Salt's `fingerprint_hash_type` takes.
pub fn check_hash_type(hash: &str) -> Result<(), StateError> {
    const KNOWN: &[&str] = &[
        "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384",
        "sha3_512", "blake2b", "blake2s",
    ];
    if KNOWN.contains(&hash.to_lowercase().as_str()) {
        Ok(())
    } else {
        Err(StateError::args(format!(
            "The fingerprint_hash_type {} is not supported.",
            hash.to_lowercase()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_python_validates_it() {
        assert!(is_base64("AAAAB3NzaC1yc2E="));
        assert!(is_base64("QUJD"));
        assert!(is_base64("QUI="));
        assert!(!is_base64("QUI"));
        assert!(!is_base64("QUJDR"));
        assert!(!is_base64("QU JD"));
        assert!(!is_base64("QUJD==="));
    }

    #[test]
    fn names_split_like_salt() {
        let (mut enc, mut comment, mut opts) = ("ssh-rsa".to_string(), String::new(), Vec::new());
        let key = split_name(
            "no-pty,command=\"x\" ssh-ed25519 AAAAC3Nza fred@laptop work",
            &mut enc,
            &mut comment,
            &mut opts,
        );
        assert_eq!(
            (key.as_str(), enc.as_str(), comment.as_str()),
            ("AAAAC3Nza", "ssh-ed25519", "fred@laptop work")
        );
        assert_eq!(opts, ["no-pty", "command=\"x\""]);
        let key = split_name("AAAAB3Nza bob", &mut enc, &mut comment, &mut opts);
        assert_eq!((key.as_str(), comment.as_str()), ("AAAAB3Nza", "bob"));
    }

    #[test]
    fn file_lines_and_paths() {
        let keys = validate_keys(
            "# c\n\nssh-rsa QUJD a b\nfrom=\"x\" ssh-ed25519 QUI= \nssh-rsa notbase64! x\n",
        );
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].comment, "a b");
        assert_eq!(keys[1].options, ["from=\"x\""]);
        assert_eq!(keys[1].line(), "from=\"x\" ssh-ed25519 QUI= \n");
        assert_eq!(
            config_path(".ssh/authorized_keys", "u", "/home/u/").unwrap(),
            "/home/u/.ssh/authorized_keys"
        );
        assert_eq!(
            config_path("/etc/ssh/keys/%u%%", "u", "/h").unwrap(),
            "/etc/ssh/keys/u%"
        );
        assert!(config_path("%x", "u", "/h").is_err());
        assert_eq!(refine_enc("e").unwrap(), "ecdsa-sha2-nistp256");
        assert!(refine_enc("ssh-foo").is_err());
        assert!(check_hash_type("SHA256").is_ok() && check_hash_type("crc32").is_err());
    }
}
