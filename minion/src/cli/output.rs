//! Printing results: a human form by default, `--out json|yaml` for machines.
//! JSON wraps the result as `{"local": ...}`, exactly as `salt-call --out json`.
use std::io::Write;

use clap::ValueEnum;
use common::data::Value;
use serde::Serialize;

/// Every value `--out` takes on the command line; each command accepts those
/// it can print (see [`data_format`] and `apply::ApplyOut`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Out {
    /// Human-readable nested output (YAML-like): grains, show.
    Nested,
    /// Salt's highstate blocks and summary: apply.
    Highstate,
    Json,
    Yaml,
    /// JUnit XML for CI systems: apply.
    Junit,
    /// A Markdown summary for a pull-request comment: apply.
    Markdown,
}

/// The format of a command that prints data (`grains`, `show`).
pub fn data_format(command: &str, out: Option<Out>) -> anyhow::Result<OutFormat> {
    Ok(match out {
        None | Some(Out::Nested) => OutFormat::Nested,
        Some(Out::Json) => OutFormat::Json,
        Some(Out::Yaml) => OutFormat::Yaml,
        Some(other @ (Out::Highstate | Out::Junit | Out::Markdown)) => anyhow::bail!(
            "`minion {command}` cannot print --out {}: it prints nested, json or yaml",
            other
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default()
        ),
    })
}

/// Refuses `--out` for a command that prints no result.
pub fn none(command: &str, out: Option<Out>) -> anyhow::Result<()> {
    match out {
        None => Ok(()),
        Some(_) => anyhow::bail!("`minion {command}` prints no result, so it takes no --out"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// Human-readable nested output (YAML-like), the default.
    Nested,
    Json,
    Yaml,
}

/// Prints `{"local": value}` in the chosen format.
pub fn print_local(out: OutFormat, value: &Value) -> std::io::Result<()> {
    /// `{"local": value}` without copying the value.
    #[derive(Serialize)]
    struct Local<'a> {
        local: &'a Value,
    }
    // Buffered: the JSON serializer writes token by token.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match out {
        OutFormat::Json => {
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut stdout, fmt);
            Local { local: value }
                .serialize(&mut ser)
                .map_err(std::io::Error::other)?;
            writeln!(stdout)
        }
        OutFormat::Yaml | OutFormat::Nested => {
            let mut wrapped = serde_json::Map::new();
            wrapped.insert("local".into(), value.clone());
            write!(
                stdout,
                "{}",
                common::yaml::dump_block(&Value::Object(wrapped))
            )
        }
    }?;
    stdout.flush()
}
