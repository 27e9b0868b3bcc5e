//! Render errors a user can act on: file, line, column, the offending line, and
//! what was expected. (Salt's "Rendering SLS failed" without a location is the
//! habit this replaces.)
use std::fmt;

/// Which step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Read,
    /// Choosing the renderers: a `#!` line naming one Brine lacks.
    Renderer,
    Jinja,
    Yaml,
    Json,
    Py,
    Gpg,
}

/// One render failure, located in a file of the state or pillar tree.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct RenderError {
    /// Path relative to its root, e.g. `web/init.sls`.
    pub file: String,
    pub stage: Stage,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// The offending line's text, when known.
    pub source_line: Option<String>,
    /// Set when the position is in the Jinja output rather than the file itself.
    pub in_rendered_output: bool,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.stage {
            Stage::Read => "cannot read",
            Stage::Renderer => "renderer error",
            Stage::Jinja => "Jinja error",
            Stage::Yaml => "YAML error",
            Stage::Json => "JSON error",
            Stage::Py => "py renderer error",
            Stage::Gpg => "gpg renderer error",
        };
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
            if let Some(col) = self.column {
                write!(f, ", column {col}")?;
            }
            if self.in_rendered_output {
                write!(f, " (of the rendered template)")?;
            }
        }
        write!(f, ": {what}: {}", self.message)?;
        if let (Some(line), Some(text)) = (self.line, &self.source_line) {
            let gutter = line.to_string().len();
            write!(f, "\n {line} | {text}")?;
            if let Some(col) = self.column {
                let pad: String = text
                    .chars()
                    .take(col.saturating_sub(1))
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "\n {:gutter$} | {pad}^", "")?;
            }
        }
        Ok(())
    }
}

impl RenderError {
    pub fn read(file: &str, message: impl Into<String>) -> Self {
        RenderError {
            file: file.to_string(),
            stage: Stage::Read,
            line: None,
            column: None,
            message: message.into(),
            source_line: None,
            in_rendered_output: false,
        }
    }

    /// From a MiniJinja error; `source` is the template text it was compiled from.
    pub fn from_jinja(file: &str, source: Option<&str>, err: &minijinja::Error) -> Self {
        // An error inside an imported template names that template.
        let file = err.name().unwrap_or(file).to_string();
        let line = err.line();
        // MiniJinja's byte range is in the text it compiled: the file after
        // Salt's tags were rewritten, same lines but other offsets.
        let compiled = source.map(super::tags::rewrite);
        let column = match (compiled.as_deref(), err.range()) {
            (Some(src), Some(range)) => src.get(..range.start).map(|before| {
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                before[line_start..].chars().count() + 1
            }),
            _ => None,
        };
        let source_line = match (source, line) {
            (Some(src), Some(l)) => src.lines().nth(l.saturating_sub(1)).map(str::to_string),
            _ => None,
        };
        let mut message = match err.detail() {
            Some(detail) => format!("{}: {detail}", kind_text(err.kind())),
            None => kind_text(err.kind()).to_string(),
        };
        let mut cause = std::error::Error::source(err);
        while let Some(c) = cause {
            message.push_str(&format!(" (caused by: {c})"));
            cause = c.source();
        }
        RenderError {
            file,
            stage: Stage::Jinja,
            line,
            column,
            message,
            source_line,
            in_rendered_output: false,
        }
    }

    /// From a YAML error in the rendered text of `file`. When the offending
    /// rendered line occurs exactly once in the source, the source position is given.
    pub fn from_yaml(
        file: &str,
        source: &str,
        rendered: &str,
        err: &crate::yaml::YamlError,
    ) -> Self {
        let rendered_line = rendered
            .lines()
            .nth(err.line.saturating_sub(1))
            .map(str::to_string);
        let mut line = err.line;
        let mut in_rendered_output = source != rendered;
        if in_rendered_output {
            if let Some(text) = &rendered_line {
                let hits: Vec<usize> = source
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| l == text)
                    .map(|(i, _)| i + 1)
                    .collect();
                if let [only] = hits.as_slice() {
                    line = *only;
                    in_rendered_output = false;
                }
            }
        }
        RenderError {
            file: file.to_string(),
            stage: Stage::Yaml,
            line: Some(line),
            column: Some(err.column),
            message: err.message.clone(),
            source_line: rendered_line,
            in_rendered_output,
        }
    }
}

fn kind_text(kind: minijinja::ErrorKind) -> &'static str {
    use minijinja::ErrorKind::*;
    match kind {
        SyntaxError => "syntax error",
        UndefinedError => "undefined value",
        TemplateNotFound => "template not found",
        InvalidOperation => "invalid operation",
        UnknownFilter => "unknown filter",
        UnknownTest => "unknown test",
        UnknownFunction => "unknown function",
        UnknownMethod => "unknown method",
        MissingArgument => "missing argument",
        TooManyArguments => "too many arguments",
        BadEscape => "bad string escape",
        CannotUnpack => "cannot unpack",
        BadSerialization => "cannot serialize",
        OutOfFuel => "the template did more work than one render may (a runaway loop?)",
        _ => "template error",
    }
}
