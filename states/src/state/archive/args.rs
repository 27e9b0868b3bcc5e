//! The arguments of `archive.extracted`, read and checked.
use common::data::Value;

use super::super::{Args, StateError};
use super::entries::Format;

/// Every argument, read before any decision so none is reported unknown
/// because an early answer skipped it.
pub(super) struct RawArgs {
    pub(super) name: String,
    pub(super) source: Option<String>,
    pub(super) source_hash: Option<String>,
    pub(super) source_hash_name: Option<String>,
    pub(super) source_hash_update: bool,
    pub(super) skip_verify: bool,
    pub(super) archive_format: Option<String>,
    pub(super) enforce_toplevel: bool,
    pub(super) enforce_ownership_on: Option<String>,
    pub(super) if_missing: Option<String>,
    pub(super) user: Option<String>,
    pub(super) group: Option<String>,
    pub(super) options: Option<String>,
    pub(super) password: Option<String>,
    pub(super) trim_output: Option<Value>,
    pub(super) overwrite: bool,
    pub(super) clean: bool,
    pub(super) clean_parent: bool,
    pub(super) force: bool,
}

impl RawArgs {
    pub(super) fn read(args: &Args) -> Result<RawArgs, StateError> {
        // Accepted for compatibility, with nothing to do here: Brine keeps no
        // cached copy of the source, lists and extracts archives itself, and
        // always restores zip permissions.
        for ignored in [
            "keep_source",
            "keep",
            "list_options",
            "use_cmd_unzip",
            "extract_perms",
        ] {
            let _ = args.get(ignored);
        }
        Ok(RawArgs {
            name: args.name(),
            source: args.str("source")?,
            source_hash: args.str("source_hash")?,
            source_hash_name: args.str("source_hash_name")?,
            source_hash_update: args.bool_or("source_hash_update", false)?,
            skip_verify: args.bool_or("skip_verify", false)?,
            archive_format: args.str("archive_format")?,
            enforce_toplevel: args.bool_or("enforce_toplevel", true)?,
            enforce_ownership_on: args.str("enforce_ownership_on")?,
            if_missing: args.str("if_missing")?,
            user: args.str("user")?,
            group: args.str("group")?,
            options: args.str("options")?,
            password: args.str("password")?,
            trim_output: args.get("trim_output").cloned(),
            overwrite: args.bool_or("overwrite", false)?,
            clean: args.bool_or("clean", false)?,
            clean_parent: args.bool_or("clean_parent", false)?,
            force: args.bool_or("force", false)?,
        })
    }
}
/// `options`: Brine extracts archives itself, so only options that mean
/// something without the `tar` command are accepted. Returns the
/// `--strip-components` count.
pub(super) fn parse_options(options: Option<&str>, format: Format) -> Result<usize, String> {
    let Some(options) = options.map(str::trim).filter(|o| !o.is_empty()) else {
        return Ok(0);
    };
    let words: Vec<&str> = options.split_whitespace().collect();
    if format == Format::Zip {
        return match words.iter().all(|w| matches!(*w, "-o" | "o" | "-q" | "-qo" | "-oq")) {
            true => Ok(0),
            false => Err(format!("The 'options' argument ({options}) is not supported for zip archives: Brine extracts them itself, always overwriting (-o)")),
        };
    }
    let unsupported = |w: &str| {
        format!("The tar option '{w}' is not supported: Brine extracts tar archives itself and accepts only --strip-components N (or --strip N), v and the compression flags z, j, J (compression is detected)")
    };
    let mut strip = 0usize;
    let mut iter = words.iter().enumerate().peekable();
    while let Some((i, word)) = iter.next() {
        let word = *word;
        if let Some(n) = word
            .strip_prefix("--strip-components=")
            .or_else(|| word.strip_prefix("--strip="))
        {
            strip = n
                .trim_matches(['"', '\''])
                .parse()
                .map_err(|_| unsupported(word))?;
        } else if word == "--strip-components" || word == "--strip" {
            let n = iter
                .next()
                .map(|(_, n)| *n)
                .ok_or_else(|| unsupported(word))?;
            strip = n
                .trim_matches(['"', '\''])
                .parse()
                .map_err(|_| unsupported(word))?;
        } else if matches!(
            word,
            "-v" | "--verbose"
                | "-z"
                | "-j"
                | "-J"
                | "--gzip"
                | "--bzip2"
                | "--xz"
                | "--auto-compress"
                | "-a"
        ) {
        } else if i == 0 && !word.starts_with('-') && word.chars().all(|c| "xvfzjJ".contains(c)) {
            // Salt's first word is a cluster of short options (`xvzf`).
        } else {
            return Err(unsupported(word));
        }
    }
    Ok(strip)
}

/// `trim_output`: False/None → no trim, True → 100, or a number. None: bad.
pub(super) fn parse_trim(value: Option<&Value>) -> Option<Option<usize>> {
    match value {
        None | Some(Value::Bool(false)) => Some(None),
        Some(Value::Bool(true)) => Some(Some(100)),
        Some(Value::Number(n)) => n.as_u64().map(|n| (n > 0).then_some(n as usize)),
        Some(Value::String(s)) => s.trim().parse::<usize>().ok().map(|n| (n > 0).then_some(n)),
        Some(_) => None,
    }
}
