//! One-line apt source entries (`deb [arch=amd64 signed-by=/k.gpg] URI dist
//! comps`), read as Salt's `aptpkg._invalid`/`SourceEntry` read them, and the
//! `*.list` files that hold them. deb822 `*.sources` files are not read, as
//! Salt does not read them either.
use std::path::PathBuf;

use crate::state::{HostRead, StateError};

pub const MAIN_LIST: &str = "/etc/apt/sources.list";
pub const LIST_DIR: &str = "/etc/apt/sources.list.d";

/// A parsed source line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Commented out (`# deb …`).
    pub disabled: bool,
    /// `deb` or `deb-src`.
    pub kind: String,
    /// `[key=value …]` in their order.
    pub options: Vec<(String, String)>,
    pub uri: String,
    pub dist: String,
    pub comps: Vec<String>,
    /// Text after a trailing `#`.
    pub comment: String,
}

impl Entry {
    /// Parses a line; `None` for blank lines, comments and anything else
    /// that is not a repository.
    pub fn parse(line: &str) -> Option<Entry> {
        let mut line = line.trim();
        let disabled = line.starts_with('#');
        if disabled {
            line = line[1..].trim_start();
        }
        let mut comment = String::new();
        if let Some(idx) = line.find('#').filter(|&i| i > 0) {
            comment = line[idx + 1..].to_string();
            line = &line[..idx];
        }
        let mut tokens: Vec<String> = Vec::new();
        let mut words = line.split_whitespace();
        while let Some(w) = words.next() {
            // `cdrom:[Debian GNU/Linux 12]/` is one URI with spaces in it.
            if w.starts_with("cdrom:[") && !w.contains("]/") {
                let mut uri = w.to_string();
                for more in words.by_ref() {
                    uri.push(' ');
                    uri.push_str(more);
                    if more.contains("]/") {
                        break;
                    }
                }
                tokens.push(uri);
            } else {
                tokens.push(w.to_string());
            }
        }
        let kind = tokens.first()?.clone();
        if !matches!(kind.as_str(), "deb" | "deb-src") {
            return None;
        }
        let mut rest = &tokens[1..];
        let mut options = Vec::new();
        if rest.first()?.starts_with('[') {
            let end = rest.iter().position(|t| t.ends_with(']'))?;
            let joined = rest[..=end].join(" ");
            for opt in joined
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split_whitespace()
            {
                let (k, v) = opt.split_once('=')?;
                options.push((k.to_string(), v.to_string()));
            }
            rest = &rest[end + 1..];
        }
        if rest.len() < 2 {
            return None;
        }
        Some(Entry {
            disabled,
            kind,
            options,
            uri: rest[0].clone(),
            dist: rest[1].clone(),
            comps: rest[2..].to_vec(),
            comment,
        })
    }

    /// The line as written to a sources file (Salt's `repo_line`).
    pub fn render(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.disabled {
            parts.push("#".into());
        }
        parts.push(self.kind.clone());
        if !self.options.is_empty() {
            let opts: Vec<String> = self
                .options
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            parts.push(format!("[{}]", opts.join(" ")));
        }
        parts.push(self.uri.clone());
        parts.push(self.dist.clone());
        parts.extend(self.comps.iter().cloned());
        if !self.comment.is_empty() {
            parts.push(format!("#{}", self.comment));
        }
        parts.join(" ")
    }

    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_option(&mut self, key: &str, value: &str) {
        match self.options.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.options.push((key.to_string(), value.to_string())),
        }
    }

    pub fn remove_option(&mut self, key: &str) {
        self.options.retain(|(k, _)| k != key);
    }

    pub fn architectures(&self) -> Vec<String> {
        self.option("arch")
            .map(|a| {
                a.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn signed_by(&self) -> String {
        self.option("signed-by").unwrap_or("").to_string()
    }

    /// Same repository as Salt's `get_repo` matches it: type, URI (ignoring
    /// a trailing slash) and dist.
    pub fn same_repo(&self, other: &Entry) -> bool {
        self.kind == other.kind
            && self.uri.trim_end_matches('/') == other.uri.trim_end_matches('/')
            && self.dist == other.dist
    }

    /// Salt's `get_repo` test: same repository and, if `self` names
    /// components, at least one in common.
    pub fn finds(&self, existing: &Entry) -> bool {
        self.same_repo(existing)
            && (self.comps.is_empty() || self.comps.iter().any(|c| existing.comps.contains(c)))
    }
}

/// A sources file's lines, kept verbatim except the ones we change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFile {
    /// The path as the state tree names it (`/etc/apt/...`).
    pub path: String,
    pub lines: Vec<String>,
}

impl ListFile {
    pub fn entries(&self) -> impl Iterator<Item = (usize, Entry)> + '_ {
        self.lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| Entry::parse(l).map(|e| (i, e)))
    }

    /// The file's text (each line newline-terminated).
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// Nothing but blank lines left.
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.trim().is_empty())
    }
}

/// Reads `/etc/apt/sources.list` and the `*.list` files directly in
/// `sources.list.d` (apt reads no subdirectories), under the host's root.
pub fn read_all(host: &HostRead) -> Result<Vec<ListFile>, StateError> {
    let mut paths: Vec<String> = vec![MAIN_LIST.to_string()];
    let dir = host.path(LIST_DIR)?;
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n.ends_with(".list"))
                .collect();
            names.sort();
            paths.extend(names.into_iter().map(|n| format!("{LIST_DIR}/{n}")));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(StateError::host(format!(
                "cannot list {}: {e}",
                dir.display()
            )))
        }
    }
    let mut out = Vec::new();
    for path in paths {
        if let Some(file) = read_one(host, &path)? {
            out.push(file);
        }
    }
    Ok(out)
}

/// One sources file, `None` if it does not exist.
pub fn read_one(host: &HostRead, path: &str) -> Result<Option<ListFile>, StateError> {
    let real: PathBuf = host.path(path)?;
    match std::fs::read_to_string(&real) {
        Ok(text) => Ok(Some(ListFile {
            path: path.to_string(),
            lines: text.lines().map(str::to_string).collect(),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::host(format!(
            "cannot read {}: {e}",
            real.display()
        ))),
    }
}

/// Salt's `strip_uri`: drops a trailing slash from http(s)/ftp URIs.
pub fn strip_uri(line: &str) -> String {
    line.split_whitespace()
        .map(|w| {
            if ["http://", "https://", "ftp://"]
                .iter()
                .any(|p| w.starts_with(p))
            {
                w.trim_end_matches('/')
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_as_salt_does() {
        let e = Entry::parse(
            "deb [arch=amd64,arm64 signed-by=/etc/apt/keyrings/nginx.gpg] http://nginx.org/packages/debian/ bookworm nginx #official",
        )
        .unwrap();
        assert!(!e.disabled);
        assert_eq!(e.kind, "deb");
        assert_eq!(e.architectures(), vec!["amd64", "arm64"]);
        assert_eq!(e.signed_by(), "/etc/apt/keyrings/nginx.gpg");
        assert_eq!(e.uri, "http://nginx.org/packages/debian/");
        assert_eq!(e.dist, "bookworm");
        assert_eq!(e.comps, vec!["nginx"]);
        assert_eq!(e.comment, "official");
        assert_eq!(
            e.render(),
            "deb [arch=amd64,arm64 signed-by=/etc/apt/keyrings/nginx.gpg] http://nginx.org/packages/debian/ bookworm nginx #official"
        );

        let d =
            Entry::parse("# deb-src http://deb.debian.org/debian bookworm main contrib").unwrap();
        assert!(d.disabled);
        assert_eq!(d.kind, "deb-src");
        assert_eq!(d.comps, vec!["main", "contrib"]);
        assert_eq!(
            d.render(),
            "# deb-src http://deb.debian.org/debian bookworm main contrib"
        );

        let spaced = Entry::parse("deb [ arch=amd64 ] http://x/ y z").unwrap();
        assert_eq!(spaced.architectures(), vec!["amd64"]);
        let cd =
            Entry::parse("deb cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_]/ bookworm main").unwrap();
        assert_eq!(cd.uri, "cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_]/");
        assert_eq!(cd.dist, "bookworm");

        for not_repo in [
            "",
            "# See sources.list(5) for more information",
            "deb http://only-uri",
            "deb [arch=amd64 http://x y z",
            "rpm http://x y z",
        ] {
            assert_eq!(Entry::parse(not_repo), None, "{not_repo:?}");
        }
    }

    #[test]
    fn finds_as_get_repo_matches() {
        let want = Entry::parse("deb http://x/debian bookworm main").unwrap();
        let have = Entry::parse("deb http://x/debian/ bookworm contrib main").unwrap();
        assert!(want.finds(&have));
        let other = Entry::parse("deb http://x/debian bookworm contrib").unwrap();
        assert!(!want.finds(&other));
        let nocomps = Entry::parse("deb http://x/debian bookworm").unwrap();
        assert!(nocomps.finds(&other));
        assert!(!want.finds(&Entry::parse("deb http://x/debian trixie main").unwrap()));
        assert_eq!(
            strip_uri("deb https://x/debian/ bookworm main"),
            "deb https://x/debian bookworm main"
        );
    }
}
