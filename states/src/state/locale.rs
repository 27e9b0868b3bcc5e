//! `locale.present` and `locale.system` (salt/states/locale.py over
//! salt/modules/localemod.py, Debian).
//!
//! `present`: a locale is there when the root's compiled locales list it
//! (what `locale -a` prints: the locale archive, read with `localedef
//! --prefix <root> --list-archive`, plus locale directories). Generating it
//! uncomments (or appends) its line in `/etc/locale.gen`, then runs
//! `locale-gen` on a real host as Salt does; under a state root, `localedef
//! --prefix <root>` builds the one locale from the root's own
//! `/usr/share/i18n` into the root's archive, which is what `locale-gen`
//! does for each line.
//!
//! `system`: where systemd runs the real host, `localectl status` and
//! `localectl set-locale` (Salt's path there, keeping the other variables;
//! localed reports C.UTF-8 when no file sets a locale, and removes the
//! file when set to it). Under a state root, or on a host without systemd,
//! `LANG` in `/etc/default/locale`, its `LANG=` line written the way localed
//! writes it (unquoted).
use std::path::Path;

use super::{changes, text_file, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

pub struct Locale;

impl super::StateModule for Locale {
    fn name(&self) -> &'static str {
        "locale"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::LOCALE
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "present" => present(args, host),
            "system" => system(args, host),
            other => Err(StateError::args(format!(
                "locale.{other} is not a state function"
            ))),
        }
    }
}

const LOCALE_GEN: &str = "/etc/locale.gen";
const DEFAULT_LOCALE: &str = "/etc/default/locale";

/// Salt's `salt.utils.locales.split_locale`:
/// `language[_territory][.codeset][@modifier] [charmap]`.
#[derive(Debug, Clone, PartialEq, Default)]
struct Parts {
    language: String,
    territory: String,
    codeset: String,
    modifier: String,
    charmap: String,
}

fn split_once_or_empty(s: &str, c: char) -> (&str, &str) {
    s.split_once(c).unwrap_or((s, ""))
}

impl Parts {
    fn split(loc: &str) -> Parts {
        let (work, charmap) = split_once_or_empty(loc, ' ');
        let (work, modifier) = split_once_or_empty(work, '@');
        let (work, codeset) = split_once_or_empty(work, '.');
        let (language, territory) = split_once_or_empty(work, '_');
        Parts {
            language: language.into(),
            territory: territory.into(),
            codeset: codeset.into(),
            modifier: modifier.into(),
            charmap: charmap.into(),
        }
    }

    /// Salt's `join_locale`.
    fn join(&self) -> String {
        let mut loc = self.language.clone();
        for (sep, part) in [
            ('_', &self.territory),
            ('.', &self.codeset),
            ('@', &self.modifier),
            (' ', &self.charmap),
        ] {
            if !part.is_empty() {
                loc.push(sep);
                loc.push_str(part);
            }
        }
        loc
    }
}

/// Salt's `normalize_locale`: the spelling `locale -a` prints
/// (`en_US.UTF-8` → `en_US.utf8`).
fn normalize(loc: &str) -> String {
    let mut p = Parts::split(loc);
    p.territory = p.territory.to_uppercase();
    p.codeset = p.codeset.to_lowercase().replace('-', "");
    p.charmap.clear();
    p.join()
}

/// A locale name is a word of the characters locale names use; anything
/// else would end up as extra words in `/etc/locale.gen` or a config line.
fn check_name(name: &str, what: &str) -> Result<(), StateError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "_.@-+".contains(c);
    let words: Vec<&str> = name.split(' ').collect();
    if name.is_empty()
        || words.len() > 2
        || words.iter().any(|w| w.is_empty() || !w.chars().all(ok))
    {
        return Err(StateError::args(format!(
            "{name:?} is not a {what} (like en_US.UTF-8)"
        )));
    }
    Ok(())
}

/// What `locale -a` would print for the root: the archive's locales, the
/// compiled locale directories, and the built-in `C` and `POSIX`.
fn available(host: &HostRead) -> Result<Vec<String>, StateError> {
    let root = host.root().to_string_lossy().into_owned();
    let prefix = format!("--prefix={root}");
    let out = host.query(&["localedef", &prefix, "--list-archive"])?;
    if out.retcode != 0 {
        return Err(StateError::host(format!(
            "localedef --list-archive failed: {}",
            out.stderr.trim()
        )));
    }
    let mut names: Vec<String> = out.stdout.lines().map(str::to_string).collect();
    if let Ok(dirs) = std::fs::read_dir(host.path("/usr/lib/locale")?) {
        for d in dirs.flatten() {
            if d.path().join("LC_IDENTIFICATION").exists() {
                names.push(d.file_name().to_string_lossy().into_owned());
            }
        }
    }
    names.extend(["C".to_string(), "POSIX".to_string()]);
    Ok(names)
}

fn present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    check_name(&name, "locale")?;
    let wanted = normalize(&name);
    if available(host)?
        .iter()
        .any(|l| normalize(l.trim()) == wanted)
    {
        return Ok(Check::clean(format!("Locale {name} is already present")));
    }
    let gen = Generate { name: name.clone() };
    Ok(Check::change(
        Default::default(),
        format!("Locale {name} needs to be generated"),
        ApplyFn(move |host: &HostWrite| gen.run(host)),
    ))
}

struct Generate {
    name: String,
}

impl Generate {
    fn run(self, host: &HostWrite) -> Result<Applied, StateError> {
        let failed = || {
            Ok(Applied::failed(
                format!("Failed to generate locale {}", self.name),
                Default::default(),
            ))
        };
        // Salt's gen_locale on Debian: the charmap defaults to the codeset,
        // and the `<locale> <charmap>` line must be one SUPPORTED lists.
        let mut parts = Parts::split(&self.name);
        if parts.charmap.is_empty() {
            parts.charmap = parts.codeset.clone();
        }
        let entry = parts.join();
        let supported =
            text_file::read_optional(&host.path("/usr/share/i18n/SUPPORTED")?)?.unwrap_or_default();
        if !supported.lines().any(|l| l == entry) {
            tracing::error!(
                "The provided locale \"{entry}\" is not found in /usr/share/i18n/SUPPORTED"
            );
            return failed();
        }
        let locale_gen = host.path(LOCALE_GEN)?;
        if let Some(text) = text_file::read_optional(&locale_gen)? {
            if let Some(new) = enable_line(&text, &entry) {
                text_file::write(host, &locale_gen, &new)?;
            }
        }
        let (locale, charmap) = entry.split_once(' ').unwrap_or((&entry, ""));
        // Salt falls back to localedef where locale-gen is missing.
        let has_locale_gen = Path::new("/usr/sbin/locale-gen").exists();
        let run = if host.root() == Path::new("/") && has_locale_gen {
            host.run(&["locale-gen", locale], &[], None)?
        } else {
            localedef_under_root(host, locale, charmap)?
        };
        if run.retcode != 0 {
            tracing::error!("{}", run.stderr.trim());
            return failed();
        }
        Ok(Applied::ok_with(
            format!("Generated locale {}", self.name),
            changes([("locale", self.name.clone().into())]),
        ))
    }
}

/// Salt's `file.replace(^\s*#\s*<entry>\s*$ → <entry>, append_if_not_found)`:
/// `None` when the entry is already enabled.
fn enable_line(text: &str, entry: &str) -> Option<String> {
    let mut out = String::new();
    let mut found = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        let uncommented = bare.trim_start().strip_prefix('#').map(str::trim_start);
        if uncommented.is_some_and(|u| u.trim_end() == entry) {
            out.push_str(entry);
            out.push('\n');
            found = true;
        } else {
            found |= bare == entry;
            out.push_str(line);
        }
    }
    if found {
        return (out != text).then_some(out);
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(entry);
    out.push('\n');
    Some(out)
}

/// `locale-gen`'s own `localedef` call for one entry, into the root's
/// archive from the root's locale sources.
fn localedef_under_root(
    host: &HostWrite,
    locale: &str,
    charmap: &str,
) -> Result<super::CmdRun, StateError> {
    let i18n = host.path("/usr/share/i18n")?;
    let input = if i18n.join("locales").join(locale).exists() {
        locale.to_string()
    } else {
        let base = locale.split(['.', '@']).next().unwrap_or(locale);
        match locale.split_once('@') {
            Some((_, at)) => format!("{base}@{at}"),
            None => base.to_string(),
        }
    };
    host.create_dir_all(&host.path("/usr/lib/locale")?)?;
    let prefix = format!("--prefix={}", host.root().to_string_lossy());
    let alias = host.path("/usr/share/locale/locale.alias")?;
    let alias = alias.to_string_lossy().into_owned();
    let mut argv = vec!["localedef", &prefix, "-i", &input, "-c", "-f", charmap];
    if Path::new(&alias).exists() {
        argv.extend(["-A", &alias]);
    }
    argv.push(locale);
    let i18n = i18n.to_string_lossy().into_owned();
    host.run(&argv, &[("I18NPATH", &i18n)], None)
}

fn system(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    check_name(&name, "locale")?;
    if name.contains(' ') {
        return Err(StateError::args(format!(
            "{name:?} is not a locale for LANG (like en_US.UTF-8)"
        )));
    }
    let path = host.path(DEFAULT_LOCALE)?;
    let text = text_file::read_optional(&path)?;
    let localed = systemd_localectl(host);
    // Where systemd runs, ask localed as Salt does: it reports its
    // default (C.UTF-8) when no file sets one, and drops the file then.
    let current = if localed {
        let out = host.query(&["localectl", "status"])?;
        if out.retcode != 0 {
            return Err(StateError::host(format!(
                "localectl status failed: {}",
                out.stderr.trim()
            )));
        }
        localectl_locale(&out.stdout)
    } else {
        text.as_deref().map(assignments).unwrap_or_default()
    };
    let lang = current.iter().find_map(|a| a.strip_prefix("LANG="));
    if lang == Some(name.as_str()) {
        return Ok(Check::clean(format!("System locale {name} already set")));
    }
    Ok(Check::change(
        Default::default(),
        format!("System locale {name} needs to be set"),
        ApplyFn(move |host: &HostWrite| {
            let ok = match localed {
                true => localectl_set(host, &current, &name)?,
                false => {
                    text_file::write(host, &path, &with_lang(text.as_deref(), &name))?;
                    true
                }
            };
            Ok(if ok {
                Applied::ok_with(
                    format!("Set system locale {name}"),
                    changes([("locale", name.clone().into())]),
                )
            } else {
                Applied::failed(
                    format!("Failed to set system locale to {name}"),
                    Default::default(),
                )
            })
        }),
    ))
}

/// Salt's `salt.utils.systemd.booted`, only on the real root.
fn systemd_localectl(host: &HostRead) -> bool {
    host.root() == Path::new("/") && Path::new("/run/systemd/system").is_dir()
}

/// Salt's `_localectl_set`: every variable kept, `LANG` replaced.
fn localectl_set(host: &HostWrite, current: &[String], lang: &str) -> Result<bool, StateError> {
    let mut argv = vec![
        "localectl".to_string(),
        "set-locale".into(),
        format!("LANG={lang}"),
    ];
    argv.extend(current.iter().filter(|a| !a.starts_with("LANG=")).cloned());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    Ok(host.run(&argv, &[], None)?.retcode == 0)
}

/// `VAR=value` lines of `/etc/default/locale`, quotes dropped (Salt's
/// `get_locale` greps the first `LANG=`).
fn assignments(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.replace('"', ""))
        .collect()
}

/// The `System Locale:` block of `localectl status` (Salt's
/// `_localectl_status`): `LANG=C.UTF-8` and the lines under it.
fn localectl_locale(status: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in status.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("System Locale:") {
            inside = true;
            out.push(rest.trim().to_string());
        } else if inside && line.contains('=') && !line.contains(':') {
            out.push(line.to_string());
        } else {
            inside = false;
        }
    }
    out.retain(|a| a.contains('='));
    out
}

/// The file with its `LANG=` line replaced (or added).
fn with_lang(text: Option<&str>, lang: &str) -> String {
    let line = format!("LANG={lang}\n");
    let mut out = String::new();
    let mut done = false;
    for l in text.unwrap_or("").split_inclusive('\n') {
        if l.starts_with("LANG=") {
            if !done {
                out.push_str(&line);
                done = true;
            }
        } else {
            out.push_str(l);
        }
    }
    if !done {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
    use super::*;
    use serde_json::json;

    #[test]
    fn names_as_salt_splits_and_normalizes_them() {
        assert_eq!(normalize("en_US.UTF-8"), "en_US.utf8");
        assert_eq!(
            normalize("ca_es.UTF-8@valencia UTF-8"),
            "ca_ES.utf8@valencia"
        );
        assert_eq!(
            Parts::split("ca_ES.UTF-8@valencia UTF-8").join(),
            "ca_ES.UTF-8@valencia UTF-8"
        );
        for bad in ["", "en US x y", "a;b", "en_US\n", "x\"y"] {
            assert!(check_name(bad, "locale").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn localectl_status_and_locale_files() {
        let status = "   System Locale: LANG=en_US.UTF-8\n                  LC_TIME=en_GB.UTF-8\n       VC Keymap: us\n";
        assert_eq!(
            localectl_locale(status),
            ["LANG=en_US.UTF-8", "LC_TIME=en_GB.UTF-8"]
        );
        assert_eq!(
            localectl_locale("System Locale: n/a\n"),
            Vec::<String>::new()
        );
        assert_eq!(
            assignments("#  File generated by update-locale\nLANG=\"C.UTF-8\"\n"),
            ["LANG=C.UTF-8"]
        );
    }

    #[test]
    fn locale_gen_lines_are_uncommented_or_appended() {
        let e = "de_DE.UTF-8 UTF-8";
        assert_eq!(
            enable_line("# de_DE ISO-8859-1\n# de_DE.UTF-8 UTF-8\n", e).unwrap(),
            "# de_DE ISO-8859-1\nde_DE.UTF-8 UTF-8\n"
        );
        assert_eq!(
            enable_line("en_US.UTF-8 UTF-8", e).unwrap(),
            "en_US.UTF-8 UTF-8\nde_DE.UTF-8 UTF-8\n"
        );
        assert_eq!(enable_line("de_DE.UTF-8 UTF-8\n", e), None);
    }

    /// A root whose locale sources are this host's (the `locales` package).
    fn root_with_i18n() -> Option<TestHost> {
        if !Path::new("/usr/share/i18n/SUPPORTED").exists() {
            eprintln!("skipped: no /usr/share/i18n (apt-get install locales)");
            return None;
        }
        let t = TestHost::new();
        std::fs::create_dir_all(t.path("/usr/share")).unwrap();
        std::os::unix::fs::symlink("/usr/share/i18n", t.path("/usr/share/i18n")).unwrap();
        t.write(LOCALE_GEN, "# en_US.UTF-8 UTF-8\n# fr_FR.UTF-8 UTF-8\n");
        Some(t)
    }

    #[test]
    fn present_generates_the_locale_then_is_clean() {
        let Some(t) = root_with_i18n() else { return };
        let args = json!({"name": "fr_FR.UTF-8"});
        let before = t.snapshot();
        let check = t.check(&Locale, "present", args.clone()).unwrap();
        assert_eq!(t.snapshot(), before, "check wrote to the root");
        assert_eq!(
            comment_of(&check),
            "Locale fr_FR.UTF-8 needs to be generated"
        );
        assert!(changes_of(&check).unwrap().is_empty());

        let applied = t.apply(check);
        assert!(applied.result, "{}", applied.comment);
        assert_eq!(applied.comment, "Generated locale fr_FR.UTF-8");
        assert_eq!(
            applied.changes.unwrap(),
            changes([("locale", json!("fr_FR.UTF-8"))])
        );
        assert_eq!(
            t.read(LOCALE_GEN),
            "# en_US.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n"
        );
        assert!(t.path("/usr/lib/locale/locale-archive").exists());

        let again = t.check(&Locale, "present", args).unwrap();
        assert!(is_clean(&again));
        assert_eq!(comment_of(&again), "Locale fr_FR.UTF-8 is already present");
        // Another spelling of the same locale is the same locale.
        assert!(is_clean(
            &t.check(&Locale, "present", json!({"name": "fr_FR.utf8"}))
                .unwrap()
        ));
    }

    #[test]
    fn present_fails_for_a_locale_debian_does_not_support() {
        let Some(t) = root_with_i18n() else { return };
        let applied = t.apply(
            t.check(&Locale, "present", json!({"name": "xx_YY.UTF-8"}))
                .unwrap(),
        );
        assert!(!applied.result);
        assert_eq!(applied.comment, "Failed to generate locale xx_YY.UTF-8");
        assert_eq!(
            t.read(LOCALE_GEN),
            "# en_US.UTF-8 UTF-8\n# fr_FR.UTF-8 UTF-8\n"
        );
    }

    #[test]
    fn system_sets_lang_keeping_the_rest() {
        let t = TestHost::new();
        t.write(DEFAULT_LOCALE, "LANG=\"C.UTF-8\"\nLC_TIME=en_GB.UTF-8\n");
        let args = json!({"name": "en_US.UTF-8"});
        let before = t.snapshot();
        let check = t.check(&Locale, "system", args.clone()).unwrap();
        assert_eq!(t.snapshot(), before, "check wrote to the root");
        assert_eq!(
            comment_of(&check),
            "System locale en_US.UTF-8 needs to be set"
        );
        let applied = t.apply(check);
        assert!(applied.result);
        assert_eq!(applied.comment, "Set system locale en_US.UTF-8");
        assert_eq!(
            applied.changes.unwrap(),
            changes([("locale", json!("en_US.UTF-8"))])
        );
        assert_eq!(
            t.read(DEFAULT_LOCALE),
            "LANG=en_US.UTF-8\nLC_TIME=en_GB.UTF-8\n"
        );
        let again = t.check(&Locale, "system", args).unwrap();
        assert!(is_clean(&again));
        assert_eq!(comment_of(&again), "System locale en_US.UTF-8 already set");
        // Quoted as Salt's non-systemd path writes it: the same LANG.
        t.write(DEFAULT_LOCALE, "LANG=\"de_DE.UTF-8\"\n");
        assert!(is_clean(
            &t.check(&Locale, "system", json!({"name": "de_DE.UTF-8"}))
                .unwrap()
        ));
        // No file: created.
        let t = TestHost::new();
        t.apply(
            t.check(&Locale, "system", json!({"name": "C.UTF-8"}))
                .unwrap(),
        );
        assert_eq!(t.read(DEFAULT_LOCALE), "LANG=C.UTF-8\n");
    }
}
