//! Small helpers that reproduce Python/Salt behaviour the grain code relies on.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::Ctx;

/// Python's `str.strip()`.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim()
}

/// Lines as Python's text-mode file iteration yields them (universal
/// newlines: `\r\n`, `\r` and `\n` all end a line), without the terminator.
pub(crate) fn py_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                out.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push(&text[start..]);
    }
    out
}

/// Python's `int(s)` for a string (surrounding whitespace, sign, `_`
/// separators between digits). None where Python raises ValueError, or where
/// the value does not fit an i64.
pub(crate) fn py_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if !clean.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v: i64 = clean.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Python's `str.isdigit()` restricted to ASCII, which is what version
/// strings contain.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `os.path.normpath` for POSIX paths (purely lexical).
pub(crate) fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let absolute = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for comp in Path::new(p).components() {
        match comp {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            Component::Normal(s) => parts.push(s.to_str().unwrap_or("")),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// `access(path, X_OK)`.
fn executable(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

impl Ctx {
    /// A path as Salt would use it (absolute host path, or relative to the
    /// working directory), mapped below the root.
    fn fs_path(&self, p: &str) -> PathBuf {
        if p.starts_with('/') {
            self.path(p)
        } else {
            PathBuf::from(p)
        }
    }

    /// `os.path.isfile(p) and os.access(p, os.X_OK)`.
    fn is_executable(&self, p: &str) -> bool {
        if !self.live && !p.starts_with('/') {
            // Relative names only make sense against the live working directory.
            return false;
        }
        let fp = self.fs_path(p);
        fp.is_file() && executable(&fp)
    }

    /// `salt.utils.path.which`: the name itself if it is an executable file,
    /// else the first `PATH` entry (plus Salt's default sbin/bin dirs) holding
    /// it, returned unresolved as Salt returns it.
    pub(crate) fn which(&self, exe: &str) -> Option<String> {
        if exe.is_empty() {
            return None;
        }
        if self.is_executable(exe) {
            return Some(exe.to_string());
        }
        let env_path = std::env::var("PATH").unwrap_or_default();
        let mut dirs: Vec<String> = env_path.split(':').map(str::to_string).collect();
        for extra in [
            "/sbin",
            "/bin",
            "/usr/sbin",
            "/usr/bin",
            "/usr/local/sbin",
            "/usr/local/bin",
        ] {
            if !env_path.split(':').any(|d| d == extra) {
                dirs.push(extra.to_string());
            }
        }
        for dir in dirs {
            let p = salt_join(&dir, exe);
            if let Some(rp) = self.resolve(&p) {
                if self.is_executable(&rp) {
                    return Some(p);
                }
            }
        }
        None
    }

    /// Follows symlinks as `salt.utils.path.which`'s `resolve` does
    /// (relative targets joined to the link's directory and normalised).
    fn resolve(&self, p: &str) -> Option<String> {
        let mut path = p.to_string();
        for _ in 0..40 {
            let fp = self.fs_path(&path);
            let is_link = fp.symlink_metadata().map(|m| m.file_type().is_symlink());
            if !matches!(is_link, Ok(true)) {
                return Some(path);
            }
            let target = std::fs::read_link(&fp).ok()?;
            let target = target.to_string_lossy().into_owned();
            path = if target.starts_with('/') {
                target
            } else {
                let dir = Path::new(&path)
                    .parent()
                    .map(|d| d.to_string_lossy().into_owned())
                    .unwrap_or_default();
                salt_join(&dir, &target)
            };
        }
        None
    }
}

/// `salt.utils.path.join(a, b)`: normalised join, `b` never absolute.
fn salt_join(a: &str, b: &str) -> String {
    let a = normpath(a);
    let b = normpath(b);
    let b = b.trim_start_matches('/');
    normpath(&format!("{a}/{b}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_universal_newlines() {
        assert_eq!(py_lines("a\r\nb\rc\nd"), vec!["a", "b", "c", "d"]);
        assert_eq!(py_lines("a\n"), vec!["a"]);
        assert!(py_lines("").is_empty());
    }

    #[test]
    fn python_int() {
        assert_eq!(py_int(" 12 "), Some(12));
        assert_eq!(py_int("+7"), Some(7));
        assert_eq!(py_int("1_0"), Some(10));
        assert_eq!(py_int("abc"), None);
        assert_eq!(py_int(""), None);
    }

    #[test]
    fn normpath_like_python() {
        assert_eq!(normpath("/usr/bin/../lib//x"), "/usr/lib/x");
        assert_eq!(normpath(""), ".");
        assert_eq!(normpath("./ip"), "ip");
        assert_eq!(salt_join("", "ip"), "ip");
        assert_eq!(salt_join("/usr/bin", "ip"), "/usr/bin/ip");
    }
}
