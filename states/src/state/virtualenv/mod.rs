//! `virtualenv.managed` (salt/states/virtualenv_mod.py): a virtualenv made
//! with `python3 -m venv` (or `venv_bin`), then `requirements` and
//! `pip_pkgs` installed into it with its own pip.
//!
//! Salt runs `pip install` on every apply of an existing virtualenv and
//! reports what `pip freeze` gained; Brine asks pip's dry run first, so an
//! existing virtualenv whose packages are there is a clean re-apply.
use std::path::PathBuf;

use common::data::{Map, Value};

use super::pip::tool::{IndexOpts, Located, Pip, PipRun, Requirements};
use super::{Applied, ApplyFn, Args, Check, Exec, HostRead, HostWrite, StateError};

pub struct Virtualenv;

impl super::StateModule for Virtualenv {
    fn name(&self) -> &'static str {
        "virtualenv"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::VIRTUALENV
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "managed" => managed(args, host),
            other => Err(StateError::args(format!(
                "virtualenv.{other} is not a state function (Brine has: {})",
                super::signatures::names(super::signatures::tables::VIRTUALENV).join(", ")
            ))),
        }
    }
}

/// What the packages part of the state asks for.
struct Packages {
    pkgs: Vec<String>,
    requirements: Option<Requirements>,
    opts: IndexOpts,
}

impl Packages {
    fn any(&self) -> bool {
        !self.pkgs.is_empty() || self.requirements.is_some()
    }
}

fn managed(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let venv = host.path(&name)?;
    let run = PipRun::from_args(args, Some(name.clone()), true)?;
    let create = creator(args, &venv)?;
    let pkgs: Vec<String> = args
        .str_list("pip_pkgs")?
        .unwrap_or_default()
        .iter()
        .flat_map(|p| {
            p.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty())
        .collect();
    let opts = IndexOpts::from_args(args, host, "pip_upgrade")?;
    let requirements = match Requirements::from_args(args, host)? {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(comment)) => return Ok(Check::fail(comment)),
    };
    let packages = Packages {
        pkgs,
        requirements,
        opts,
    };
    let create = match create {
        Ok(c) => c,
        Err(comment) => return Ok(Check::fail(comment)),
    };
    if let Some(comment) = run.user_missing(host) {
        return Ok(Check::fail(comment));
    }
    let exists = venv.join("bin/python").exists();
    if !exists {
        return Ok(Check::change(
            Map::new(),
            format!("Virtualenv {name} is set to be created"),
            ApplyFn(move |host: &HostWrite| {
                let made = host.exec(&with_user(&run, Exec::new(&create)))?.run;
                if made.retcode != 0 {
                    return Ok(Applied::failed(
                        format!("{}{}", made.stdout, made.stderr),
                        Map::new(),
                    ));
                }
                let mut changes = Map::new();
                changes.insert("new".into(), python_version(host, &venv)?.into());
                let mut applied = Applied::ok_with("Created new virtualenv", changes);
                if packages.any() {
                    install(host, &run, &packages, &mut applied)?;
                }
                Ok(applied)
            }),
        ));
    }
    let clean = Check::Clean {
        comment: "virtualenv exists".into(),
        test_comment: Some(format!("Virtualenv {name} is already created")),
    };
    if !packages.any() {
        return Ok(clean);
    }
    let Located::Found(pip) = run.locate(host)? else {
        return Ok(Check::fail(format!(
            "Could not find a pip binary in virtualenv {name}"
        )));
    };
    match pip.would_install(
        host,
        &packages.opts,
        &packages.pkgs,
        packages.requirements.as_ref(),
    )? {
        Ok(would) if would.is_empty() => Ok(clean),
        would => {
            let listed = match would {
                Ok(w) => w
                    .iter()
                    .map(|w| format!("{}=={}", w.name, w.version))
                    .collect::<Vec<_>>()
                    .join(", "),
                Err(_) => packages.pkgs.join(", "),
            };
            Ok(Check::change(
                Map::new(),
                format!(
                    "Virtualenv {name} is already created; packages set to be installed: {listed}"
                ),
                ApplyFn(move |host: &HostWrite| {
                    let mut applied = Applied::ok_with("virtualenv exists", Map::new());
                    install(host, &run, &packages, &mut applied)?;
                    Ok(applied)
                }),
            ))
        }
    }
}

/// The argv that makes the virtualenv: `python3 -m venv` (with `python` as
/// the interpreter), or `venv_bin` as Salt's `virtualenv.create` runs it.
/// `Ok(Err(comment))`: an option the chosen tool does not have.
fn creator(args: &Args, venv: &std::path::Path) -> Result<Result<Vec<String>, String>, StateError> {
    let python = args.str("python")?.filter(|p| !p.trim().is_empty());
    let mut argv = match args.str("venv_bin")? {
        None => vec![
            python.clone().unwrap_or_else(|| "python3".into()),
            "-m".into(),
            "venv".into(),
        ],
        Some(bin) => {
            let mut argv = common::shlex::split(&bin)
                .map_err(|e| StateError::args(format!("'venv_bin' does not parse: {e}")))?;
            if argv.is_empty() {
                return Err(StateError::args("'venv_bin' is empty"));
            }
            // Salt: a venv_bin without "venv" in it is virtualenv, which takes --python.
            match python {
                Some(p) if !bin.contains("venv") => argv.push(format!("--python={p}")),
                Some(_) => {
                    return Ok(Err(format!(
                        "The `python`(`--python`) option is not supported by '{bin}'"
                    )))
                }
                None => {}
            }
            argv
        }
    };
    if args.bool_or("system_site_packages", false)? {
        argv.push("--system-site-packages".into());
    }
    argv.push(venv.display().to_string());
    Ok(Ok(argv))
}

fn with_user(run: &PipRun, mut spec: Exec) -> Exec {
    if let Some(user) = &run.user {
        let mut argv = vec!["runuser".into(), "-u".into(), user.clone(), "--".into()];
        argv.append(&mut spec.argv);
        spec.argv = argv;
    }
    spec
}

/// `python -V` of the new virtualenv, for `changes.new`. Salt reads only its
/// stderr, where Python 3 prints nothing, so Salt's `new` is always "";
/// Brine shows the version (pip/salt_diff.rs allows for that one difference).
fn python_version(host: &HostWrite, venv: &std::path::Path) -> Result<String, StateError> {
    let python: PathBuf = venv.join("bin/python");
    let out = host.query(&[&python.display().to_string(), "-V"])?;
    Ok(format!("{}{}", out.stdout, out.stderr).trim().to_string())
}

/// Salt's pip part: `pip install`, then what `pip freeze` gained and lost.
fn install(
    host: &HostWrite,
    run: &PipRun,
    packages: &Packages,
    applied: &mut Applied,
) -> Result<(), StateError> {
    let pip: Pip = match run.locate(host)? {
        Located::Found(pip) => pip,
        Located::Missing(err) => {
            applied.result = false;
            applied.comment = err;
            return Ok(());
        }
    };
    let before = pip.freeze(host)?;
    let (args, stdin) = pip.install_args(
        &packages.opts,
        &packages.pkgs,
        packages.requirements.as_ref(),
    );
    let out = host.exec(&pip.exec(&args, stdin))?.run;
    if out.retcode != 0 {
        applied.result = false;
        applied.comment = format!("{}\n{}\n{}", applied.comment, out.stdout, out.stderr);
    }
    let after = pip.freeze(host)?;
    let new: Vec<Value> = after
        .iter()
        .filter(|l| !before.contains(l))
        .map(|l| Value::String(l.clone()))
        .collect();
    let old: Vec<Value> = before
        .iter()
        .filter(|l| !after.contains(l))
        .map(|l| Value::String(l.clone()))
        .collect();
    if !new.is_empty() || !old.is_empty() {
        let side = |v: Vec<Value>| {
            if v.is_empty() {
                Value::String(String::new())
            } else {
                Value::Array(v)
            }
        };
        let mut pkgs = Map::new();
        pkgs.insert("new".into(), side(new));
        pkgs.insert("old".into(), side(old));
        applied
            .changes
            .get_or_insert_with(Map::new)
            .insert("packages".into(), Value::Object(pkgs));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
