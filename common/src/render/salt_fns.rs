//! The `salt` object of Salt's template context: `salt['pillar.get'](...)` etc.
//!
//! Only the functions state trees actually call at render time are here; any
//! other name fails with a message naming it, instead of Salt's silent KeyError.
use std::fmt;
use std::sync::Arc;

use minijinja::value::{from_args, Kwargs, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

use super::convert::{py_str_jinja, to_data, to_jinja};
use super::dictupdate::{deep_copy, traverse, update};
use super::merge_fns::{filter_by, merge_with_strategy};
use super::mutable::map_pairs;
use super::probe::{CmdOptions, HostProbe};
use crate::data::DEFAULT_DELIMITER;

/// What the `salt` functions of one minion's render can see.
pub struct SaltContext {
    pub grains: Value,
    pub pillar: Value,
    pub opts: Value,
    pub probe: Arc<dyn HostProbe>,
}

/// The `salt` mapping.
#[derive(Clone)]
pub struct SaltFunctions(pub Arc<SaltContext>);

impl fmt::Debug for SaltFunctions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<salt functions>")
    }
}

/// `salt.mod`: attribute access and method calls reach `mod.fun`.
struct SaltModule {
    name: String,
    ctx: Arc<SaltContext>,
}

impl fmt::Debug for SaltModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<salt module {}>", self.name)
    }
}

impl Object for SaltModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let fun = key.as_str()?;
        Some(Value::from_object(SaltCall {
            name: format!("{}.{fun}", self.name),
            ctx: self.ctx.clone(),
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        Arc::new(SaltCall {
            name: format!("{}.{method}", self.name),
            ctx: self.ctx.clone(),
        })
        .call(state, args)
    }
}

/// One `salt['mod.fun']` callable.
struct SaltCall {
    name: String,
    ctx: Arc<SaltContext>,
}

impl fmt::Debug for SaltCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<salt function {}>", self.name)
    }
}

/// Every function name `salt[...]` answers.
pub const FUNCTIONS: &[&str] = &[
    "pillar.get",
    "pillar.items",
    "pillar.item",
    "pillar.raw",
    "grains.get",
    "grains.items",
    "grains.item",
    "grains.filter_by",
    "grains.has_value",
    "config.get",
    "config.option",
    "slsutil.serialize",
    "slsutil.merge",
    "slsutil.merge_all",
    "defaults.merge",
    "defaults.deepcopy",
    "file.dirname",
    "file.basename",
    "file.join",
    "file.file_exists",
    "file.directory_exists",
    "file.exists",
    "log.trace",
    "log.debug",
    "log.info",
    "log.warning",
    "log.error",
    "log.critical",
    "cmd.run",
    "cmd.shell",
    "cmd.run_stdout",
    "cmd.retcode",
    "cmd.run_all",
    "user.info",
    "mine.get",
    "cp.list_states",
    "cp.list_master",
    "cp.list_master_dirs",
    "status.time",
    "test.true",
    "test.false",
];

impl SaltFunctions {
    /// `salt['name'](*args, **kwargs)` outside a template (a `#!py` file's
    /// `__salt__`): the same dispatch as the template's call.
    pub fn call(&self, name: &str, args: &[Value], kwargs: &Kwargs) -> Result<Value, Error> {
        SaltCall {
            name: name.to_string(),
            ctx: self.0.clone(),
        }
        .dispatch(args, kwargs)
    }
}

impl Object for SaltFunctions {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        // `salt['file.dirname']` names a function; `salt.file` a module whose
        // attributes are functions (`salt.file.dirname(...)`), as Salt allows.
        if name.contains('.') {
            Some(Value::from_object(SaltCall {
                name: name.to_string(),
                ctx: self.0.clone(),
            }))
        } else {
            Some(Value::from_object(SaltModule {
                name: name.to_string(),
                ctx: self.0.clone(),
            }))
        }
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(FUNCTIONS)
    }
}

pub(super) fn fail(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

pub(super) fn kw_or<T>(
    kwargs: &Kwargs,
    key: &str,
    pos: Option<&Value>,
    default: T,
) -> Result<T, Error>
where
    T: for<'a> minijinja::value::ArgType<'a, Output = T> + TryFrom<Value>,
{
    if let Some(v) = pos {
        return T::try_from(v.clone()).map_err(|_| fail(format!("bad value for {key}")));
    }
    Ok(kwargs.get::<Option<T>>(key)?.unwrap_or(default))
}

impl Object for SaltCall {
    /// A function, not a mapping: `salt['status.time'] is callable` is true,
    /// as formulas test before calling (postgres-formula's pillar).
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (pos, kwargs): (&[Value], Kwargs) = from_args(args)?;
        let rv = self.dispatch(pos, &kwargs)?;
        // Salt ignores keyword arguments it does not know (e.g. `ordered=`); so do we.
        let _ = kwargs.assert_all_used();
        Ok(rv)
    }
}

impl SaltCall {
    fn dispatch(&self, pos: &[Value], kw: &Kwargs) -> Result<Value, Error> {
        let ctx = &self.ctx;
        let arg = |i: usize| pos.get(i);
        let str_arg = |i: usize, key: &str| -> Result<String, Error> {
            match arg(i) {
                Some(v) => Ok(py_str_jinja(v)),
                None => kw
                    .get::<Option<Value>>(key)?
                    .map(|v| py_str_jinja(&v))
                    .ok_or_else(|| fail(format!("salt['{}'] needs '{key}'", self.name))),
            }
        };
        match self.name.as_str() {
            "pillar.get" => {
                let key = str_arg(0, "key")?;
                let default = arg(1)
                    .cloned()
                    .or(kw.get::<Option<Value>>("default")?)
                    .unwrap_or(Value::from(""));
                let merge: bool = kw_or(kw, "merge", arg(2), false)?;
                let delim: String = kw_or(kw, "delimiter", arg(4), DEFAULT_DELIMITER.to_string())?;
                let found = traverse(&ctx.pillar, &key, &delim);
                match found {
                    Some(v)
                        if merge
                            && default.kind() == ValueKind::Map
                            && v.kind() == ValueKind::Map =>
                    {
                        let merge_lists: bool = kw_or(kw, "merge_nested_lists", arg(3), false)?;
                        Ok(update(&deep_copy(&default), &v, merge_lists))
                    }
                    Some(v) => Ok(v),
                    None => Ok(default),
                }
            }
            "grains.get" | "config.get" | "config.option" => {
                let key = str_arg(0, "key")?;
                let default = arg(1)
                    .cloned()
                    .or(kw.get::<Option<Value>>("default")?)
                    .unwrap_or(Value::from(""));
                let delim: String = kw
                    .get::<Option<String>>("delimiter")?
                    .unwrap_or(DEFAULT_DELIMITER.into());
                let sources: &[&Value] = if self.name == "grains.get" {
                    &[&ctx.grains]
                } else {
                    &[&ctx.opts, &ctx.grains, &ctx.pillar]
                };
                for src in sources {
                    if let Some(v) = traverse(src, &key, &delim) {
                        return Ok(v);
                    }
                }
                if self.name != "grains.get" {
                    if let Some(v) = traverse(&ctx.pillar, &format!("master{delim}{key}"), &delim) {
                        return Ok(v);
                    }
                }
                Ok(default)
            }
            "pillar.items" | "pillar.raw" => Ok(ctx.pillar.clone()),
            "grains.items" => Ok(ctx.grains.clone()),
            "pillar.item" | "grains.item" => {
                let src = if self.name == "pillar.item" {
                    &ctx.pillar
                } else {
                    &ctx.grains
                };
                let pairs = pos.iter().map(|k| {
                    let k = py_str_jinja(k);
                    let v = traverse(src, &k, DEFAULT_DELIMITER).unwrap_or(Value::from(""));
                    (Value::from(k), v)
                });
                Ok(super::mutable::MutMap::new_value(pairs.collect::<Vec<_>>()))
            }
            "grains.has_value" => {
                let key = str_arg(0, "key")?;
                // Salt asks whether the key exists, not whether its value is true.
                Ok(Value::from(
                    traverse(&ctx.grains, &key, DEFAULT_DELIMITER).is_some(),
                ))
            }
            "grains.filter_by" => filter_by(ctx, pos, kw),
            "slsutil.merge" => {
                let a = arg(0).ok_or_else(|| fail("slsutil.merge needs obj_a"))?;
                let b = arg(1).ok_or_else(|| fail("slsutil.merge needs obj_b"))?;
                let merge_lists: bool = kw_or(kw, "merge_lists", arg(4), false)?;
                let strategy: String = kw_or(kw, "strategy", arg(2), "smart".to_string())?;
                merge_with_strategy(a, b, &strategy, merge_lists)
            }
            "slsutil.merge_all" => {
                let lst = arg(0).ok_or_else(|| fail("slsutil.merge_all needs lst"))?;
                let merge_lists: bool = kw_or(kw, "merge_lists", arg(3), false)?;
                let strategy: String = kw_or(kw, "strategy", arg(1), "smart".to_string())?;
                let mut acc = super::mutable::MutMap::new_value(Vec::new());
                for item in lst.try_iter()? {
                    acc = merge_with_strategy(&acc, &item, &strategy, merge_lists)?;
                }
                Ok(acc)
            }
            "defaults.merge" => {
                let dest = arg(0).ok_or_else(|| fail("defaults.merge needs dest"))?;
                let src = arg(1).ok_or_else(|| fail("defaults.merge needs src"))?;
                let merge_lists: bool = kw_or(kw, "merge_lists", arg(2), false)?;
                let in_place: bool = kw_or(kw, "in_place", arg(3), true)?;
                let target = if in_place {
                    dest.clone()
                } else {
                    deep_copy(dest)
                };
                Ok(update(&target, src, merge_lists))
            }
            "defaults.deepcopy" => Ok(deep_copy(arg(0).unwrap_or(&Value::from(())))),
            "slsutil.serialize" => {
                let serializer = str_arg(0, "serializer")?;
                let obj = arg(1)
                    .cloned()
                    .or(kw.get::<Option<Value>>("obj")?)
                    .unwrap_or_default();
                serialize(&serializer, &obj)
            }
            "file.dirname" => {
                let p = str_arg(0, "path")?;
                Ok(Value::from(match p.rfind('/') {
                    Some(0) => "/".to_string(),
                    Some(i) => p[..i].trim_end_matches('/').to_string(),
                    None => String::new(),
                }))
            }
            "file.basename" => {
                let p = str_arg(0, "path")?;
                Ok(Value::from(p.rsplit('/').next().unwrap_or("").to_string()))
            }
            "file.join" => {
                let mut out = String::new();
                for part in pos.iter().map(py_str_jinja) {
                    if part.starts_with('/') {
                        out = part;
                    } else if out.is_empty() || out.ends_with('/') {
                        out.push_str(&part);
                    } else {
                        out.push('/');
                        out.push_str(&part);
                    }
                }
                Ok(Value::from(out))
            }
            "file.file_exists" => probe_bool(ctx.probe.file_exists(&str_arg(0, "path")?)),
            "file.directory_exists" => probe_bool(ctx.probe.directory_exists(&str_arg(0, "path")?)),
            "file.exists" => {
                let p = str_arg(0, "path")?;
                let f = ctx.probe.file_exists(&p).map_err(|e| fail(e.to_string()))?;
                probe_bool(if f {
                    Ok(true)
                } else {
                    ctx.probe.directory_exists(&p)
                })
            }
            "log.trace" | "log.debug" | "log.info" | "log.warning" | "log.error"
            | "log.critical" => {
                let msg = pos.iter().map(py_str_jinja).collect::<Vec<_>>().join(" ");
                match &self.name[4..] {
                    "trace" => tracing::trace!(target: "template", "{msg}"),
                    "debug" => tracing::debug!(target: "template", "{msg}"),
                    "info" => tracing::info!(target: "template", "{msg}"),
                    "warning" => tracing::warn!(target: "template", "{msg}"),
                    _ => tracing::error!(target: "template", "{msg}"),
                }
                Ok(Value::from(true))
            }
            "cmd.run" | "cmd.shell" | "cmd.run_stdout" | "cmd.retcode" | "cmd.run_all" => {
                let command = str_arg(0, "cmd")?;
                let options = CmdOptions {
                    cwd: kw.get::<Option<String>>("cwd")?,
                    shell: kw.get::<Option<String>>("shell")?,
                    env: kw
                        .get::<Option<Value>>("env")?
                        .and_then(|v| map_pairs(&v))
                        .unwrap_or_default()
                        .iter()
                        .map(|(k, v)| (py_str_jinja(k), py_str_jinja(v)))
                        .collect(),
                    // Salt 3007 runs a template's cmd.run without a shell unless
                    // python_shell=True is passed; cmd.shell always uses one.
                    no_shell: self.name != "cmd.shell"
                        && kw.get::<Option<bool>>("python_shell")? != Some(true),
                };
                let out = ctx
                    .probe
                    .cmd(&command, &options)
                    .map_err(|e| fail(e.to_string()))?;
                Ok(match self.name.as_str() {
                    "cmd.retcode" => Value::from(out.retcode),
                    "cmd.run_stdout" => Value::from(out.stdout.trim_end().to_string()),
                    "cmd.run_all" => to_jinja(&serde_json::json!({
                        "pid": 0, "retcode": out.retcode,
                        "stdout": out.stdout.trim_end(), "stderr": out.stderr.trim_end(),
                    })),
                    _ => {
                        // cmd.run merges stderr into stdout and strips the end.
                        let mut s = out.stdout;
                        if !out.stderr.is_empty() {
                            if !s.is_empty() && !s.ends_with('\n') {
                                s.push('\n');
                            }
                            s.push_str(&out.stderr);
                        }
                        Value::from(s.trim_end().to_string())
                    }
                })
            }
            "user.info" => {
                let info = ctx
                    .probe
                    .user_info(&str_arg(0, "name")?)
                    .map_err(|e| fail(e.to_string()))?;
                Ok(to_jinja(&info))
            }
            "cp.list_states" | "cp.list_master" | "cp.list_master_dirs" => {
                let saltenv = match arg(0).cloned().or(kw.get::<Option<Value>>("saltenv")?) {
                    Some(v) if v.is_true() => py_str_jinja(&v),
                    _ => super::fileserver::default_saltenv(&ctx.opts),
                };
                let listing = super::fileserver::list(&ctx.opts, &saltenv);
                let prefix: String = kw_or(kw, "prefix", arg(1), String::new())?;
                let names: Vec<String> = match self.name.as_str() {
                    "cp.list_states" => super::fileserver::states(&listing),
                    "cp.list_master" => super::fileserver::with_prefix(&listing.files, &prefix)
                        .into_iter()
                        .cloned()
                        .collect(),
                    _ => super::fileserver::with_prefix(&listing.dirs, &prefix)
                        .into_iter()
                        .cloned()
                        .collect(),
                };
                Ok(super::mutable::MutList::new_value(
                    names.into_iter().map(Value::from).collect(),
                ))
            }
            "status.time" => {
                let format: String =
                    kw_or(kw, "format", arg(0), "%A, %d. %B %Y %I:%M%p".to_string())?;
                status_time(ctx, &format)
            }
            "cmd.has_exec" => probe_bool(ctx.probe.has_exec(&str_arg(0, "cmd")?)),
            "mine.get" => mine_get(ctx, pos, kw),
            "test.true" => Ok(Value::from(true)),
            "test.echo" => Ok(Value::from(str_arg(0, "text")?)),
            "test.false" => Ok(Value::from(false)),
            other => Err(fail(format!(
                "salt['{other}'] is not available when rendering in Brine; available: {}",
                FUNCTIONS.join(", ")
            ))),
        }
    }
}

/// `mine.get(tgt, fun, tgt_type='glob', exclude_minion=False)`, read from
/// the mine the render's probe carries.
fn mine_get(ctx: &SaltContext, pos: &[Value], kw: &Kwargs) -> Result<Value, Error> {
    let given = |i: usize, key: &str| -> Result<Option<Value>, Error> {
        Ok(pos.get(i).cloned().or(kw.get::<Option<Value>>(key)?))
    };
    let tgt = given(0, "tgt")?.ok_or_else(|| fail("salt['mine.get'] needs 'tgt'"))?;
    let fun = given(1, "fun")?.ok_or_else(|| fail("salt['mine.get'] needs 'fun'"))?;
    let tgt_type = given(2, "tgt_type")?
        .map(|v| py_str_jinja(&v))
        .unwrap_or_else(|| "glob".to_string());
    let exclude_minion = given(3, "exclude_minion")?.is_some_and(|v| v.is_true());
    // Salt's mine.update runs the config's mine_functions with the pillar's
    // merged over them: a masterless source runs this minion's own.
    let pillar_functions = match ctx.pillar.get_attr("mine_functions") {
        Ok(v) if !v.is_undefined() && !v.is_none() => {
            crate::config::mine_functions(&to_data(&v))
                .map_err(|e| fail(format!("mine.get: pillar key mine_functions: {e}")))?
        }
        _ => Vec::new(),
    };
    let mine = ctx
        .probe
        .mine()
        .ok_or_else(|| fail(super::mine::MineError::Unavailable.to_string()))?;
    let mut ret = super::mine::get(
        mine,
        &to_data(&tgt),
        &to_data(&fun),
        &tgt_type,
        &pillar_functions,
    )
    .map_err(|e| fail(e.to_string()))?;
    if exclude_minion {
        if let (crate::data::Value::Object(m), Ok(id)) = (&mut ret, ctx.opts.get_attr("id")) {
            m.remove(&py_str_jinja(&id));
        }
    }
    Ok(to_jinja(&ret))
}

/// `status.time(format)`: the minion's local time through `strftime`, which
/// `date +FORMAT` in the C locale is (Python's `time.strftime` does not set
/// the locale either). Asked of the minion, like `cmd.run`.
fn status_time(ctx: &SaltContext, format: &str) -> Result<Value, Error> {
    if format.contains("%f") {
        return Err(fail(
            "salt['status.time']: the %f (microseconds) directive is not supported by Brine",
        ));
    }
    let options = CmdOptions {
        env: vec![("LC_ALL".into(), "C".into())],
        no_shell: true,
        ..CmdOptions::default()
    };
    // The format is one argv word: single quotes, any ' in it spelled '\''.
    let command = format!("date '+{}'", format.replace('\'', r"'\''"));
    let out = ctx
        .probe
        .cmd(&command, &options)
        .map_err(|e| fail(format!("salt['status.time']: {e}")))?;
    if out.retcode != 0 {
        return Err(fail(format!(
            "salt['status.time']: date failed: {}",
            out.stderr.trim_end()
        )));
    }
    Ok(Value::from(
        out.stdout
            .strip_suffix('\n')
            .unwrap_or(&out.stdout)
            .to_string(),
    ))
}

fn probe_bool(r: Result<bool, super::probe::ProbeError>) -> Result<Value, Error> {
    r.map(Value::from).map_err(|e| fail(e.to_string()))
}

/// `slsutil.serialize(serializer, obj)` for the serializers formulas use.
pub fn serialize(serializer: &str, obj: &Value) -> Result<Value, Error> {
    let data = to_data(obj);
    match serializer {
        "yaml" => Ok(Value::from(crate::yaml::serialize(&data))),
        "json" => Ok(Value::from(crate::pyfmt::json_dumps(&data, false, None))),
        other => Err(fail(format!(
            "slsutil.serialize: serializer '{other}' is not supported by Brine (yaml, json are)"
        ))),
    }
}
