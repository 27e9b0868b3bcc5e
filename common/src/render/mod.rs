//! The Jinja+YAML renderer with Salt's context, functions, filters and tags.
//!
//! One [`Renderer`] per file tree (it caches compiled templates); one [`Session`]
//! per minion render (its grains, pillar, opts and host probe). Rendering is pure
//! apart from the probe: the same inputs give the same output.
mod convert;
mod dictupdate;
mod error;
mod external;
pub mod fileserver;
mod filters;
mod loader;
mod merge_fns;
pub mod mine;
mod mutable;
mod percent;
mod pipeline;
mod probe;
mod redact;
mod salt_call;
mod salt_fns;
mod tags;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once};

use minijinja::value::Value as JValue;
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};

pub use convert::{to_data, to_jinja, to_jinja_ordered};
pub use error::{RenderError, Stage};
pub use external::{ExternalError, ExternalRenderers, NoExternal, PyContext, SaltCall};
pub use loader::clean_name;
pub use pipeline::{Pipeline, PipelineError, Step};
pub use probe::{CmdOptions, CmdOutput, HostProbe, NoHost, ProbeError};
pub use redact::{hide_secrets, Secret};
pub use salt_fns::FUNCTIONS as SALT_FUNCTIONS;

use crate::data::Value;
use salt_fns::{SaltContext, SaltFunctions};

/// The work one file's render may do, in MiniJinja fuel: one unit per
/// instruction, per 64 bytes of data produced, per item a filter or method
/// walks. A runaway template (`{% for i in range(100000) %}{% for j in
/// range(100000) %}`, a list doubled in a loop, a string grown in one) then
/// fails with a render error instead of hanging or exhausting the memory of
/// the master or minion rendering it: the budget is a fraction of a second of
/// work and at most ~256 MiB of data. Real files use far less: a
/// 1000-state loop (scripts/bench-apply.py) about 23,000, every file of
/// tests/compat and examples/ under 400.
pub const RENDER_FUEL: u64 = 4_000_000;

/// How deep `import_yaml` / `import_json` / `import_text` may nest. A file
/// importing itself would otherwise recurse until the stack overflows (Salt
/// stops it with Python's RecursionError).
pub const MAX_IMPORT_DEPTH: usize = 32;

fn install_hooks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        minijinja::value::hooks::install(minijinja::value::hooks::Hooks {
            map_literal: mutable::MutMap::new_value,
            list_literal: mutable::MutList::new_value,
            string_format: percent::format,
        });
    });
}

/// Renders templates from one set of roots (`file_roots` or `pillar_roots` of a saltenv).
pub struct Renderer {
    env: Environment<'static>,
    finder: Arc<loader::Finder>,
    /// `py` and `gpg` steps (the binaries' programs; [`NoExternal`] refuses).
    external: Arc<dyn ExternalRenderers>,
    /// The `renderer` option: the pipeline of a file with no `#!` line.
    default_pipeline: Pipeline,
    /// What a key path of this tree's data is called in errors.
    data_kind: &'static str,
    /// Files read, kept as long as the compiled templates are (a renderer
    /// lives for one job): the template loader and the choice of a file's
    /// pipeline share one read per file, not one each per file and minion.
    sources: Arc<Sources>,
}

/// The text of the files a renderer has read, by name under its roots.
#[derive(Default)]
struct Sources(Mutex<std::collections::HashMap<String, Arc<str>>>);

impl Sources {
    /// The text of `name` (found at `path`), read on first use only.
    fn read(&self, name: &str, path: &std::path::Path) -> std::io::Result<Arc<str>> {
        let mut files = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(text) = files.get(name) {
            return Ok(text.clone());
        }
        let text: Arc<str> = crate::files::read_regular_to_string(path)?.into();
        files.insert(name.to_string(), text.clone());
        Ok(text)
    }
}

/// One minion's render inputs, converted once and shared by every file rendered
/// for it, as Salt shares one `pillar`/`grains` object across a highstate.
pub struct Session {
    base: BTreeMap<String, JValue>,
    /// What `gpg` steps decrypted for this minion, in render order.
    secrets: Mutex<Vec<Secret>>,
}

impl Session {
    pub fn new(
        grains: &Value,
        pillar: &Value,
        opts: &Value,
        saltenv: &str,
        probe: Arc<dyn HostProbe>,
    ) -> Self {
        let grains = to_jinja(grains);
        // Salt's pillar is made of OrderedDicts (its yaml filter keeps their order).
        let pillar = to_jinja_ordered(pillar);
        let opts = to_jinja(opts);
        let salt = JValue::from_object(SaltFunctions(Arc::new(SaltContext {
            grains: grains.clone(),
            pillar: pillar.clone(),
            opts: opts.clone(),
            probe,
        })));
        let mut base = BTreeMap::new();
        base.insert("grains".into(), grains);
        base.insert("pillar".into(), pillar);
        base.insert("opts".into(), opts);
        base.insert("salt".into(), salt);
        base.insert("saltenv".into(), JValue::from(saltenv));
        base.insert("env".into(), JValue::from(saltenv));
        Session {
            base,
            secrets: Mutex::new(Vec::new()),
        }
    }

    fn record_secret(&self, secret: Secret) {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(secret);
    }

    /// The values `gpg` steps decrypted in this session's renders so far.
    pub fn secrets(&self) -> Vec<Secret> {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The pillar strings a render error must not show ([`redact`]), read
    /// only when an error is made.
    fn pillar_secrets(&self) -> Vec<(String, String)> {
        self.base
            .get("pillar")
            .map(|p| redact::pillar_strings(&to_data(p)))
            .unwrap_or_default()
    }
}

/// `generate_sls_context` of salt/utils/templates.py: tpldir, slspath and friends.
fn sls_context(file: &str, sls: &str, ctx: &mut BTreeMap<String, JValue>) {
    let slspath_full = sls.replace('.', "/");
    let slspath = file.rsplit_once('/').map_or("", |(dir, _)| dir);
    // Salt derives slspath from the template path, so `a/b/init.sls` gives `a/b`.
    let _ = slspath_full;
    ctx.insert("sls".into(), JValue::from(sls));
    ctx.insert("tplfile".into(), JValue::from(file));
    ctx.insert("tplpath".into(), JValue::from(tplpath(file, ctx)));
    ctx.insert(
        "tpldir".into(),
        JValue::from(if slspath.is_empty() { "." } else { slspath }),
    );
    ctx.insert("tpldot".into(), JValue::from(slspath.replace('/', ".")));
    ctx.insert(
        "tplroot".into(),
        JValue::from(slspath.split('/').next().unwrap_or("")),
    );
    ctx.insert("slspath".into(), JValue::from(slspath));
    ctx.insert("slsdotpath".into(), JValue::from(slspath.replace('/', ".")));
    ctx.insert(
        "slscolonpath".into(),
        JValue::from(slspath.replace('/', ":")),
    );
    ctx.insert("sls_path".into(), JValue::from(slspath.replace('/', "_")));
}

/// Salt's `tplpath`: where the minion cached the file it rendered,
/// `<cachedir>/files/<saltenv>/<file>`. Brine renders from the roots and
/// caches nothing, so this is the path Salt would show for the same config
/// (the minion's `cachedir`, else Brine's default one).
fn tplpath(file: &str, ctx: &BTreeMap<String, JValue>) -> String {
    let cachedir = ctx
        .get("opts")
        .and_then(|o| o.get_attr("cachedir").ok())
        .and_then(|c| c.as_str().map(str::to_string))
        .unwrap_or_else(|| "/var/cache/brine/minion".to_string());
    let saltenv = ctx
        .get("saltenv")
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap_or_else(|| "base".to_string());
    format!("{}/files/{saltenv}/{file}", cachedir.trim_end_matches('/'))
}

impl Renderer {
    pub fn new(roots: Vec<PathBuf>) -> Self {
        install_hooks();
        let finder = Arc::new(loader::Finder::new(roots));
        let mut env = Environment::new();
        // Salt renders with jinja2.StrictUndefined unless allow_undefined is set.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(RENDER_FUEL));
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .expect("default delimiters are valid"),
        );
        let loader_finder = finder.clone();
        let sources = Arc::new(Sources::default());
        let loader_sources = sources.clone();
        env.set_loader(move |name| match loader_finder.find(name) {
            Some(path) => match loader_sources.read(name, &path) {
                Ok(text) => Ok(Some(tags::rewrite(&text))),
                Err(e) => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("cannot read {}: {e}", path.display()),
                )),
            },
            None => Ok(None),
        });
        env.set_path_join_callback(|name, parent| loader::join(name, parent).into());
        env.set_formatter(|out, _state, value| {
            if value.is_undefined() {
                return Err(Error::new(
                    ErrorKind::UndefinedError,
                    "undefined value printed",
                ));
            }
            out.write_str(&convert::py_str_jinja(value))
                .map_err(|_| Error::new(ErrorKind::WriteFailure, "write failed"))
        });
        env.set_unknown_method_callback(|state, value, method, args| {
            match value
                .as_str()
                .and_then(|s| str_method(state, s, method, args))
            {
                Some(result) => result,
                None => {
                    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
                }
            }
        });
        filters::register(&mut env);
        Renderer {
            env,
            finder,
            external: Arc::new(NoExternal),
            default_pipeline: Pipeline::default(),
            data_kind: "key",
            sources,
        }
    }

    /// This renderer with programs for the `py` and `gpg` steps.
    pub fn with_external(mut self, external: Arc<dyn ExternalRenderers>) -> Self {
        self.external = external;
        self
    }

    /// This renderer with another pipeline for files without a `#!` line
    /// (the `renderer` option).
    pub fn with_default_pipeline(mut self, pipeline: Pipeline) -> Self {
        self.default_pipeline = pipeline;
        self
    }

    /// A renderer of pillar files: errors say "pillar key".
    pub fn for_pillar(mut self) -> Self {
        self.data_kind = "pillar key";
        self
    }

    /// The roots this renderer reads from.
    pub fn roots(&self) -> &[PathBuf] {
        self.finder.roots()
    }

    /// The file `name` stands for under the roots (None if absent or outside them).
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        self.finder.find(name)
    }

    /// Whether `name` is a file under the roots.
    pub fn exists(&self, name: &str) -> bool {
        self.finder.find(name).is_some()
    }

    /// The file an SLS name stands for: `a.b` → `a/b.sls`, else `a/b/init.sls`.
    /// Returns the path relative to the roots and whether it is an `init.sls`.
    pub fn resolve_sls(&self, sls: &str) -> Option<(String, bool)> {
        if sls.is_empty() || sls.contains(['/', '\\', '\0']) || sls.split('.').any(str::is_empty) {
            return None;
        }
        let base = sls.replace('.', "/");
        [
            (format!("{base}.sls"), false),
            (format!("{base}/init.sls"), true),
        ]
        .into_iter()
        .find(|(rel, _)| self.finder.find(rel).is_some())
    }

    /// The text of a file under the roots (for error reports).
    pub fn source(&self, name: &str) -> Option<String> {
        self.finder
            .find(name)
            .and_then(|p| crate::files::read_regular_to_string(&p).ok())
    }

    /// Where a line of `file` first satisfies `matches`: (1-based line, its text).
    /// Gives tree-level errors (a conflicting ID, a missing SLS in top.sls) a location.
    pub fn locate(&self, file: &str, matches: impl Fn(&str) -> bool) -> Option<(usize, String)> {
        let text = self.source(file)?;
        text.lines()
            .enumerate()
            .find(|(_, l)| matches(l))
            .map(|(i, l)| (i + 1, l.to_string()))
    }

    /// Renders `file` (relative to the roots) as Jinja. With `sls`, the SLS
    /// context (`sls`, `tpldir`, `slspath`, …) is added, as Salt does.
    pub fn render_text(
        &self,
        session: &Session,
        file: &str,
        sls: Option<&str>,
    ) -> Result<String, RenderError> {
        self.render_text_with(session, file, sls, None)
    }

    /// [`render_text`](Self::render_text) with extra template variables (a pillar
    /// include's `defaults:`), which override the session's.
    pub fn render_text_with(
        &self,
        session: &Session,
        file: &str,
        sls: Option<&str>,
        extra: Option<&crate::data::Map<String, Value>>,
    ) -> Result<String, RenderError> {
        let tmpl = self.env.get_template(file).map_err(|e| {
            if e.kind() == ErrorKind::TemplateNotFound && e.name().is_none_or(|n| n == file) {
                RenderError::read(file, "no such file under the roots")
            } else {
                RenderError::from_jinja(file, self.source(e.name().unwrap_or(file)).as_deref(), &e)
            }
        })?;
        let mut ctx = session.base.clone();
        if let Some(sls) = sls {
            sls_context(file, sls, &mut ctx);
        }
        for (k, v) in extra.into_iter().flatten() {
            ctx.insert(k.clone(), to_jinja(v));
        }
        let import_ctx = Arc::new(ctx.clone());
        ctx.insert(
            "__salt_import".into(),
            JValue::from_function(move |state: &State, name: String, kind: String| {
                salt_import(state, &import_ctx, &name, &kind, 1)
            }),
        );
        tmpl.render(JValue::from(ctx)).map_err(|e| {
            let name = e.name().unwrap_or(file).to_string();
            RenderError::from_jinja(file, self.source(&name).as_deref(), &e)
                .without_pillar(&session.pillar_secrets())
        })
    }

    /// Renders an SLS file through its pipeline: its `#!` line, else the
    /// default (`jinja|yaml`: Jinja, then YAML as Salt reads it).
    pub fn render_sls(
        &self,
        session: &Session,
        file: &str,
        sls: Option<&str>,
    ) -> Result<Value, RenderError> {
        self.render_sls_with(session, file, sls, None)
    }

    /// [`render_sls`](Self::render_sls) with extra template variables.
    pub fn render_sls_with(
        &self,
        session: &Session,
        file: &str,
        sls: Option<&str>,
        extra: Option<&crate::data::Map<String, Value>>,
    ) -> Result<Value, RenderError> {
        self.run_pipeline(session, file, sls, extra)
    }
}

/// Python string methods pycompat lacks and formulas use.
fn str_method(
    state: &State,
    s: &str,
    method: &str,
    args: &[JValue],
) -> Option<Result<JValue, Error>> {
    let arg = |i: usize| args.get(i).and_then(|a| a.as_str()).map(str::to_string);
    Some(Ok(match method {
        "partition" | "rpartition" => {
            let sep = arg(0)?;
            let found = if method == "partition" {
                s.split_once(&sep)
            } else {
                s.rsplit_once(&sep)
            };
            let parts = match found {
                Some((a, b)) => vec![a.to_string(), sep.clone(), b.to_string()],
                None if method == "partition" => vec![s.to_string(), String::new(), String::new()],
                None => vec![String::new(), String::new(), s.to_string()],
            };
            JValue::from(parts.into_iter().map(JValue::from).collect::<Vec<_>>())
        }
        "rsplit" => {
            let sep = arg(0);
            let max = args.get(1).and_then(|m| m.as_i64()).unwrap_or(-1);
            let mut parts: Vec<String> = match &sep {
                Some(sep) if max >= 0 => s
                    .rsplitn(max as usize + 1, sep.as_str())
                    .map(str::to_string)
                    .collect(),
                Some(sep) => s.rsplit(sep.as_str()).map(str::to_string).collect(),
                None => s.split_whitespace().rev().map(str::to_string).collect(),
            };
            parts.reverse();
            mutable::MutList::new_value(parts.into_iter().map(JValue::from).collect())
        }
        "zfill" => {
            let width = args.first().and_then(|w| w.as_i64()).unwrap_or(0).max(0) as usize;
            let (sign, digits) = match s.strip_prefix(['-', '+']) {
                Some(rest) => (&s[..1], rest),
                None => ("", s),
            };
            let pad = width.saturating_sub(s.chars().count());
            if let Err(e) = state.consume_fuel(pad as u64 / 64) {
                return Some(Err(e));
            }
            JValue::from(format!("{sign}{}{digits}", "0".repeat(pad)))
        }
        _ => return None,
    }))
}

/// `{% import_yaml "x" as y %}` and friends: render the file as a template with
/// the importing file's context, then parse it. `depth` counts the imports
/// this one is nested in, itself included.
fn salt_import(
    state: &State,
    ctx: &BTreeMap<String, JValue>,
    name: &str,
    kind: &str,
    depth: usize,
) -> Result<JValue, Error> {
    let resolved = loader::join(name, state.name());
    if depth > MAX_IMPORT_DEPTH {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{resolved}: imports nested more than {MAX_IMPORT_DEPTH} deep (a file importing itself?)"),
        ));
    }
    let tmpl = state.env().get_template(&resolved)?;
    // The imported file may import in turn (formulas' osfamilymap.yaml does).
    let mut inner = ctx.clone();
    let nested = Arc::new(ctx.clone());
    inner.insert(
        "__salt_import".into(),
        JValue::from_function(move |state: &State, name: String, kind: String| {
            salt_import(state, &nested, &name, &kind, depth + 1)
        }),
    );
    // A render of its own, with its own fuel: the importer pays for what it used.
    let rendered = tmpl.render_captured(JValue::from(inner))?;
    if let Some((used, _)) = rendered.state().fuel_levels() {
        state.consume_fuel(used)?;
    }
    let text = rendered.output();
    match kind {
        "yaml" => crate::yaml::load(text)
            .map(|v| to_jinja(&v))
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("{resolved}: {e}"))),
        "json" => serde_json::from_str::<Value>(text)
            .map(|v| to_jinja(&v))
            .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("{resolved}: {e}"))),
        _ => Ok(JValue::from(text)),
    }
}
