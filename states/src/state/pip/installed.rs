//! `pip.installed`: Salt's comments and changes, pip's dry run as the check.
use common::data::{Map, Value};
use common::pyfmt::py_str;

use super::super::{Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use super::tool::{
    bad_version_spec, normalize, project_name, IndexOpts, Located, Pip, PipRun, Requirements,
};

pub(super) fn check(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let pkgs = args.get("pkgs");
    let run = PipRun::from_args(args, args.str("bin_env")?, true)?;
    let opts = IndexOpts::from_args(args, host, "upgrade")?;
    let requirements = Requirements::from_args(args, host)?;
    let specs = match pkgs {
        None => vec![args.name()],
        Some(Value::Array(items)) => items.iter().map(spec_of).collect(),
        Some(_) => return Ok(Check::fail("pkgs argument must be formatted as a list")),
    };
    let requirements = match requirements {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(comment)) => return Ok(Check::fail(comment)),
    };
    // A requirements file replaces the packages, as in Salt.
    let specs = if requirements.is_some() {
        vec![]
    } else {
        specs
    };
    let bad: Vec<String> = specs.iter().filter_map(|s| bad_version_spec(s)).collect();
    if !bad.is_empty() {
        return Ok(Check::fail(bad.join("\n")));
    }
    if let Some(comment) = run.user_missing(host) {
        return Ok(Check::fail(comment));
    }
    let plan = Install {
        specs: specs.clone(),
        targets: specs.clone(),
        requirements,
        opts,
        run,
    };
    let pip = match plan.run.locate(host)? {
        Located::Found(pip) => pip,
        // The bin_env an earlier pending virtualenv.managed would make: a
        // dry run reports the install; a real run fails in `apply` with
        // Salt's error, since then nothing made it.
        Located::Missing(_) => return Ok(plan.pending(None)),
    };
    let would =
        match pip.would_install(host, &plan.opts, &plan.specs, plan.requirements.as_ref())? {
            Ok(would) => would,
            // pip refused (no such package, an unreachable index): the install
            // will say why, with Salt's wording.
            Err(_) => return Ok(plan.pending(Some(pip))),
        };
    if would.is_empty() {
        return Ok(Check::clean(plan.clean_comment()));
    }
    let wanted: Vec<String> = would.iter().map(|w| normalize(&w.name)).collect();
    let named: Vec<String> = plan
        .specs
        .iter()
        .filter(|s| project_name(s).is_none_or(|n| wanted.contains(&normalize(n))))
        .cloned()
        .collect();
    // Only a dependency is missing: install them all, as pip would.
    let targets = if named.is_empty() {
        plan.specs.clone()
    } else {
        named
    };
    Ok(Install { targets, ..plan }.pending(Some(pip)))
}

/// `pkgs` items: a string, or `{name: version-spec}` as Salt's `prepro` joins it.
fn spec_of(item: &Value) -> String {
    match item {
        Value::Object(m) => m
            .iter()
            .next()
            .map(|(k, v)| format!("{k} {}", py_str(v)))
            .unwrap_or_default(),
        other => py_str(other),
    }
}

struct Install {
    /// Every package the state names.
    specs: Vec<String>,
    /// The ones to install (the rest are already there).
    targets: Vec<String>,
    requirements: Option<Requirements>,
    opts: IndexOpts,
    run: PipRun,
}

impl Install {
    fn already(&self) -> Vec<String> {
        self.specs
            .iter()
            .filter(|s| !self.targets.contains(s))
            .map(|s| format!("Python package {s} was already installed"))
            .collect()
    }

    fn clean_comment(&self) -> String {
        if self.requirements.is_some() {
            return "Requirements were already installed.".into();
        }
        let last = format!(
            "All specified packages are already installed{}",
            if self.opts.upgrade {
                " and up-to-date"
            } else {
                ""
            }
        );
        let already: Vec<String> = self
            .specs
            .iter()
            .map(|s| format!("Python package {s} was already installed"))
            .collect();
        with_already(&already, &last)
    }

    /// Salt's test-mode comments.
    fn test_comment(&self) -> String {
        match (&self.requirements, self.specs.as_slice()) {
            (Some(req), _) => format!("Requirements file '{}' will be processed.", req.shown),
            (None, [one]) => format!("Python package {one} is set to be installed"),
            (None, many) => format!(
                "Python package(s) set to be installed:\n{}",
                many.join("\n")
            ),
        }
    }

    fn pending(self, pip: Option<Pip>) -> Check {
        Check::change(
            Map::new(),
            self.test_comment(),
            ApplyFn(move |host: &HostWrite| self.apply(pip, host)),
        )
    }

    fn apply(self, pip: Option<Pip>, host: &HostWrite) -> Result<Applied, StateError> {
        let what = self
            .requirements
            .as_ref()
            .map(|r| r.shown.clone())
            .unwrap_or_else(|| self.specs.join(";"));
        let pip = match pip {
            Some(pip) => pip,
            None => match self.run.locate(host)? {
                Located::Found(pip) => pip,
                Located::Missing(err) => {
                    return Ok(Applied::failed(
                        format!("Error installing '{what}': {err}"),
                        Map::new(),
                    ))
                }
            },
        };
        let (args, stdin) = pip.install_args(&self.opts, &self.targets, self.requirements.as_ref());
        let out = host.exec(&pip.exec(&args, stdin))?.run;
        let already = self.already();
        if out.retcode != 0 {
            let error = format!("Error: {} {}", out.stdout, out.stderr);
            let comment = match &self.requirements {
                Some(req) => format!(
                    "Unable to process requirements file \"{}\" {error}",
                    req.shown
                ),
                None => with_already(
                    &already,
                    &format!(
                        "Failed to install packages: {}. {error}",
                        self.targets.join(", ")
                    ),
                ),
            };
            return Ok(Applied::failed(comment, Map::new()));
        }
        if let Some(req) = &self.requirements {
            let mut changes = Map::new();
            changes.insert("requirements".into(), Value::Bool(true));
            return Ok(Applied::ok_with(
                format!("Successfully processed requirements file {}.", req.shown),
                changes,
            ));
        }
        let listed = pip.list(host)?;
        let mut changes = Map::new();
        let mut missing = Vec::new();
        for spec in &self.targets {
            let Some(prefix) = project_name(spec) else {
                changes.insert(format!("{spec}==???"), "Installed".into());
                continue;
            };
            match listed.iter().find(|(n, _)| normalize(n) == normalize(prefix)) {
                Some((_, ver)) => {
                    changes.insert(format!("{prefix}=={ver}"), "Installed".into());
                }
                None => missing.push(format!(
                    "There was no error installing package '{spec}' although it does not show when calling 'pip.freeze'."
                )),
            }
        }
        let last = if missing.is_empty() {
            "All packages were successfully installed".to_string()
        } else {
            missing.join("\n")
        };
        Ok(Applied::ok_with(with_already(&already, &last), changes))
    }
}

/// Salt's "already installed" lines, then the last one.
fn with_already(already: &[String], last: &str) -> String {
    if already.is_empty() {
        last.to_string()
    } else {
        format!("{}\n{last}", already.join("\n"))
    }
}
