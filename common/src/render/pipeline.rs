//! Renderer pipelines: the `#!jinja|yaml` first line of an SLS, top or pillar
//! file, else the `renderer` option, as Salt's `salt/template.py` reads them
//! (`template_shebang`, `check_render_pipe_str`), and the steps run in turn.
//!
//! As in Salt, the `#!` line stays in the text: Jinja passes it through, YAML
//! reads it as a comment, and the JSON step drops a leading `#!` line. A
//! renderer Brine lacks is an error naming it, where Salt would log it and
//! render the file as empty: never a silent wrong answer.
use std::fmt;
use std::sync::Arc;

use crate::data::{Map, Value};

use super::error::{RenderError, Stage};
use super::external::PyContext;
use super::redact::Secret;
use super::{to_data, Renderer, Session};

/// One renderer of a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Jinja,
    Yaml,
    Json,
    Py,
    Gpg,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Jinja => "jinja",
            Step::Yaml => "yaml",
            Step::Json => "json",
            Step::Py => "py",
            Step::Gpg => "gpg",
        }
    }
}

/// The renderers a file goes through, first to last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline(Vec<Step>);

/// Why a pipe string cannot be used; names the renderer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("renderer '{name}' {reason}")]
pub struct PipelineError {
    pub name: String,
    pub reason: String,
}

/// Salt's renderers Brine does not have: named as such rather than as unknown.
const SALT_ONLY: &[&str] = &[
    "aws_kms",
    "cheetah",
    "dson",
    "genshi",
    "hjson",
    "json5",
    "mako",
    "msgpack",
    "nacl",
    "pass",
    "pydsl",
    "pyobjects",
    "stateconf",
    "toml",
    "wempy",
    "yamlex",
];

/// Salt's old combined names (`OLD_STYLE_RENDERERS`): `yaml_jinja` is `jinja|yaml`.
const OLD_STYLE: &[(&str, &str)] = &[
    ("yaml_jinja", "jinja|yaml"),
    ("yaml_mako", "mako|yaml"),
    ("yaml_wempy", "wempy|yaml"),
    ("json_jinja", "jinja|json"),
    ("json_mako", "mako|json"),
    ("json_wempy", "wempy|json"),
    ("yamlex_jinja", "jinja|yamlex"),
];

impl Default for Pipeline {
    /// Salt's default `renderer`: `jinja|yaml`.
    fn default() -> Self {
        Pipeline(vec![Step::Jinja, Step::Yaml])
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.name()).collect();
        f.write_str(&names.join("|"))
    }
}

impl Pipeline {
    /// Parses a pipe string (`jinja | yaml | gpg`) as `check_render_pipe_str`
    /// does: `|` separates renderers, spaces around them are dropped, and a
    /// word after a renderer's name is its option line.
    pub fn parse(pipe: &str) -> Result<Pipeline, PipelineError> {
        let pipe = pipe.trim();
        let expanded = OLD_STYLE
            .iter()
            .find(|(old, _)| *old == pipe)
            .map_or(pipe, |(_, new)| *new);
        let mut steps = Vec::new();
        for part in expanded.split('|').map(str::trim) {
            let (name, argline) = part.split_once(' ').unwrap_or((part, ""));
            let argline = argline.trim();
            let bad = |reason: String| PipelineError {
                name: name.to_string(),
                reason,
            };
            let step = match name {
                "jinja" => Step::Jinja,
                "yaml" => Step::Yaml,
                "json" => Step::Json,
                "py" => Step::Py,
                "gpg" => Step::Gpg,
                "" => {
                    return Err(bad(format!(
                        "is empty: '{pipe}' is not a pipe of renderer names"
                    )))
                }
                n if SALT_ONLY.contains(&n) || n == "tomlmod" => {
                    return Err(bad(
                        "is not supported by Brine (it has jinja, yaml, json, py and gpg)".into(),
                    ))
                }
                _ => return Err(bad("is not a renderer Salt or Brine has".into())),
            };
            // Salt's jinja renderer takes only `-s` (render the input as a
            // string, which is what Brine does anyway); the others ignore it.
            if step == Step::Jinja && !argline.is_empty() && argline != "-s" {
                return Err(bad(format!("has no option '{argline}'")));
            }
            steps.push(step);
        }
        if let Some(pos) = steps
            .iter()
            .skip(1)
            .position(|s| matches!(s, Step::Jinja | Step::Py))
        {
            let step = steps[pos + 1];
            return Err(PipelineError {
                name: step.name().into(),
                reason: "reads the file itself, so it can only be first in a pipe".into(),
            });
        }
        Ok(Pipeline(steps))
    }

    pub fn steps(&self) -> &[Step] {
        &self.0
    }

    /// The pipe a file's first line names (`#!yaml`; not `#!/bin/sh`), if any.
    pub fn shebang(text: &str) -> Option<&str> {
        let line = text.lines().next()?;
        let pipe = line.strip_prefix("#!")?;
        (!pipe.starts_with('/')).then(|| pipe.trim())
    }
}

/// What flows between steps: text, or data once a step has parsed it.
enum Flow {
    Text(String),
    Data(Value),
}

/// Where a step failed: what it says goes into a [`RenderError`] of the file.
fn step_error(file: &str, stage: Stage, message: String) -> RenderError {
    RenderError {
        stage,
        ..RenderError::read(file, message)
    }
}

impl Renderer {
    /// The pipeline `file` is rendered with: its `#!` line, else the default.
    fn pipeline_of(&self, file: &str, source: &str) -> Result<Pipeline, RenderError> {
        match Pipeline::shebang(source) {
            None => Ok(self.default_pipeline.clone()),
            Some(pipe) => Pipeline::parse(pipe).map_err(|e| RenderError {
                line: Some(1),
                source_line: source.lines().next().map(str::to_string),
                ..step_error(file, Stage::Renderer, e.to_string())
            }),
        }
    }

    /// The text of `file`, read once per renderer (the template loader
    /// shares the read).
    fn pipeline_source(&self, file: &str) -> Result<Arc<str>, RenderError> {
        let path = self
            .finder
            .find(file)
            .ok_or_else(|| RenderError::read(file, "no such file under the roots"))?;
        self.sources
            .read(file, &path)
            .map_err(|e| RenderError::read(file, e.to_string()))
    }

    /// Renders `file` through its pipeline to data (text when the pipeline
    /// ends in text, which the callers refuse as not a dictionary, as Salt does).
    pub(super) fn run_pipeline(
        &self,
        session: &Session,
        file: &str,
        sls: Option<&str>,
        extra: Option<&Map<String, Value>>,
    ) -> Result<Value, RenderError> {
        let source = self.pipeline_source(file)?;
        let pipeline = self.pipeline_of(file, &source)?;
        let mut flow = Flow::Text(String::new());
        for (i, step) in pipeline.steps().iter().enumerate() {
            flow = match (step, flow) {
                (Step::Jinja, _) => {
                    Flow::Text(self.render_text_with(session, file, sls, extra)?)
                }
                (Step::Py, _) => Flow::Data(self.run_py(session, file, sls, &source)?),
                (_, Flow::Text(_)) if i == 0 => self.data_step(session, file, *step, &source)?,
                (_, Flow::Text(text)) => self.data_step(session, file, *step, &text)?,
                (Step::Gpg, Flow::Data(mut data)) => {
                    decrypt_data(self, session, file, &mut data, &mut String::new())?;
                    Flow::Data(data)
                }
                (_, Flow::Data(_)) => {
                    return Err(step_error(
                        file,
                        Stage::Renderer,
                        format!(
                            "renderer '{}' reads text, but the renderer before it in '{pipeline}' made data",
                            step.name()
                        ),
                    ))
                }
            };
        }
        Ok(match flow {
            Flow::Data(v) => v,
            Flow::Text(t) => Value::String(t),
        })
    }

    /// A step that reads text: yaml, json, or gpg over the text.
    fn data_step(
        &self,
        session: &Session,
        file: &str,
        step: Step,
        text: &str,
    ) -> Result<Flow, RenderError> {
        match step {
            Step::Yaml => crate::yaml::load(text).map(Flow::Data).map_err(|e| {
                let source = self.source(file).unwrap_or_default();
                RenderError::from_yaml(file, &source, text, &e)
                    .without_pillar(&session.pillar_secrets())
            }),
            Step::Json => {
                // salt/renderers/json.py drops a leading `#!` line itself.
                let body = match text.strip_prefix("#!") {
                    Some(_) => text.find('\n').map_or("", |i| &text[i + 1..]),
                    None => text,
                };
                if body.trim().is_empty() {
                    return Ok(Flow::Data(Value::Object(Map::new())));
                }
                serde_json::from_str(body).map(Flow::Data).map_err(|e| {
                    // Lines count from the text given, the `#!` line included.
                    let line = e.line() + usize::from(body.len() != text.len());
                    RenderError {
                        line: Some(line),
                        column: Some(e.column()),
                        source_line: text.lines().nth(line - 1).map(str::to_string),
                        in_rendered_output: self.source(file).as_deref() != Some(text),
                        ..step_error(file, Stage::Json, json_message(&e))
                    }
                    .without_pillar(&session.pillar_secrets())
                })
            }
            Step::Gpg => {
                let mut out = Value::String(text.to_string());
                decrypt_data(self, session, file, &mut out, &mut String::new())?;
                Ok(Flow::Text(match out {
                    Value::String(s) => s,
                    _ => unreachable!("a string stays a string"),
                }))
            }
            Step::Jinja | Step::Py => unreachable!("handled by the caller"),
        }
    }

    /// `#!py`: the file's `run()` in the program the binary gave.
    fn run_py(
        &self,
        session: &Session,
        file: &str,
        sls: Option<&str>,
        source: &str,
    ) -> Result<Value, RenderError> {
        let base = &session.base;
        let data = |k: &str| base.get(k).map(to_data).unwrap_or(Value::Null);
        let context = PyContext {
            grains: data("grains"),
            pillar: data("pillar"),
            opts: data("opts"),
            sls: sls.unwrap_or_default().to_string(),
            saltenv: data("saltenv").as_str().unwrap_or("base").to_string(),
        };
        self.external
            .python(file, source, &context, &|f, a, k| {
                session.call_salt(f, a, k)
            })
            .map_err(|e| {
                step_error(file, Stage::Py, e.to_string()).without_pillar(&session.pillar_secrets())
            })
    }
}

/// serde_json's message without its own " at line L column C" (the error
/// gives them as fields).
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

const BEGIN: &str = "-----BEGIN PGP MESSAGE-----";
const END: &str = "-----END PGP MESSAGE-----";

/// Salt's gpg renderer (`_decrypt_object`): every string value holding a PGP
/// message has each message replaced by its plaintext; keys are left as they
/// are. Each decrypted value is recorded in the session by its key path
/// (`path`, colon-joined), so what it reaches can be hidden later.
fn decrypt_data(
    renderer: &Renderer,
    session: &Session,
    file: &str,
    v: &mut Value,
    path: &mut String,
) -> Result<(), RenderError> {
    match v {
        Value::String(s) if s.contains(BEGIN) => {
            let decrypted = decrypt_string(renderer, s).map_err(|why| {
                let what = if path.is_empty() {
                    "a PGP message in the text".to_string()
                } else {
                    format!("{} '{path}'", renderer.data_kind)
                };
                step_error(
                    file,
                    Stage::Gpg,
                    format!("{what} ({file}) could not be decrypted: {why}"),
                )
            })?;
            if let Some(plain) = decrypted {
                session.record_secret(Secret::new(path, file, &plain));
                *s = plain;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                descend(path, k, |p| decrypt_data(renderer, session, file, item, p))?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                descend(path, &i.to_string(), |p| {
                    decrypt_data(renderer, session, file, item, p)
                })?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn descend<T>(path: &mut String, key: &str, f: impl FnOnce(&mut String) -> T) -> T {
    let len = path.len();
    if !path.is_empty() {
        path.push(':');
    }
    path.push_str(key);
    let out = f(path);
    path.truncate(len);
    out
}

/// `_decrypt_ciphertexts`: each `BEGIN … END` block (shortest match) replaced
/// by its plaintext, a literal `\n` in a block read as a newline, trailing
/// newlines of the result dropped. An empty plaintext is a failure, as in
/// Salt with `gpg_decrypt_must_succeed` (its default). `None`: no whole
/// block, the string is left as it is.
fn decrypt_string(renderer: &Renderer, s: &str) -> Result<Option<String>, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut replaced = false;
    while let Some(start) = rest.find(BEGIN) {
        let Some(end) = rest[start..].find(END).map(|e| start + e + END.len()) else {
            break;
        };
        out.push_str(&rest[..start]);
        let block = rest[start..end].replace("\\n", "\n");
        let plain = renderer
            .external
            .gpg_decrypt(&block)
            .map_err(|e| e.to_string())?;
        if plain.is_empty() {
            return Err("gpg gave no plaintext".into());
        }
        out.push_str(&plain);
        replaced = true;
        rest = &rest[end..];
    }
    out.push_str(rest);
    Ok(replaced.then(|| out.trim_end_matches('\n').to_string()))
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
