//! Everything masterless mode needs to compile for this host: config, grains,
//! pillar, and the state tree, from the config file and command-line overrides.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use common::config::{EnvRoots, MinionConfig, DEFAULT_MINION_CONFIG};
use common::data::Value;
use common::render::HostProbe;
use states::compile::{JobEnv, Minion, MinionTrees};

use crate::mine::{LocalMine, MasterlessProbe};

/// Command-line options shared by the local commands.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LocalOpts {
    /// Minion config file (Salt's keys: id, file_roots, pillar_roots, grains).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// State tree root (file_roots of saltenv base; the config's other
    /// saltenvs stay); repeatable.
    #[arg(long = "file-root", value_name = "DIR", global = true)]
    pub file_roots: Vec<PathBuf>,
    /// Pillar tree root (pillar_roots of saltenv base; the config's other
    /// pillar envs stay); repeatable.
    #[arg(long = "pillar-root", value_name = "DIR", global = true)]
    pub pillar_roots: Vec<PathBuf>,
    /// YAML or JSON map of grains merged over the detected ones.
    #[arg(long, value_name = "FILE", global = true)]
    pub grains: Option<PathBuf>,
    /// Minion id (default: from the config, else Salt's default id for this host).
    #[arg(long, global = true)]
    pub id: Option<String>,
}

/// The resolved inputs of a local compile.
pub struct LocalInputs {
    pub config: MinionConfig,
    pub id: String,
    pub grains: Value,
    /// Salt's grains file: `grains` beside the config file, which
    /// `grains.setval` writes and every load merges.
    pub grains_file: PathBuf,
    pub opts: Value,
    pub probe: Arc<dyn HostProbe>,
}

impl LocalInputs {
    pub fn load(o: &LocalOpts) -> Result<Self> {
        let config_path = o
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_MINION_CONFIG));
        let mut config = MinionConfig::load(&config_path, o.config.is_some())?;
        let grains_file = config_path
            .parent()
            .unwrap_or(std::path::Path::new("/"))
            .join("grains");
        set_base_roots(&mut config.envs.file_roots, &o.file_roots);
        set_base_roots(&mut config.envs.pillar_roots, &o.pillar_roots);
        let mut grains = crate::grains::detect();
        // Salt's order: detected grains, then the grains file, then the
        // config's `grains:` over both.
        // A file that does not parse is skipped with a warning, as Salt does.
        match states::exec::read_grains_file(&grains_file) {
            Ok(stored) => grains.extend(stored),
            Err(e) => {
                tracing::warn!(file = %grains_file.display(), error = %e, "grains file skipped")
            }
        }
        for (k, v) in &config.grains {
            grains.insert(k.clone(), v.clone());
        }
        if let Some(path) = &o.grains {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read grains file {}", path.display()))?;
            let extra = common::yaml::load(&text)
                .map_err(|e| anyhow::anyhow!("grains file {}: {e}", path.display()))?;
            match extra {
                Value::Object(m) => grains.extend(m),
                Value::Null => {}
                _ => anyhow::bail!("grains file {} must hold a map", path.display()),
            }
        }
        let id =
            o.id.clone()
                .or_else(|| config.id.clone())
                .or_else(|| {
                    grains
                        .get("fqdn")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .or_else(|| grains.get("id").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| "localhost".into());
        grains.insert("id".into(), Value::String(id.clone()));
        let opts = config.opts(&id);
        Ok(LocalInputs {
            opts,
            probe: Arc::new(MasterlessProbe {
                mine: LocalMine {
                    id: id.clone(),
                    grains: Value::Object(grains.clone()),
                    nodegroups: config.nodegroups.clone(),
                    functions: config.mine_functions.clone(),
                    root: PathBuf::from("/"),
                },
            }),
            config,
            id,
            grains: Value::Object(grains),
            grains_file,
        })
    }

    /// This host as the trees see it.
    pub fn minion(&self) -> Minion<'_> {
        Minion {
            id: &self.id,
            grains: &self.grains,
            opts: &self.opts,
            probe: self.probe.clone(),
        }
    }

    /// The state and pillar trees of every saltenv of this config, with its
    /// `nodegroups`, its `renderer` option, and `python3` and `gpg` (with
    /// `gpg_keydir`) for the `py` and `gpg` renderers.
    pub fn trees(&self) -> MinionTrees {
        let programs = external_render::Programs {
            python: PathBuf::from("python3"),
            gpg_keydir: self.config.gpg_keydir.clone(),
        };
        MinionTrees::new(&self.config.envs, self.config.nodegroups.clone())
            .with_renderers(Arc::new(programs), self.config.renderer.clone())
    }
}

/// `--file-root`/`--pillar-root` replace saltenv `base`'s directories; the
/// config's other saltenvs stay.
fn set_base_roots(roots: &mut EnvRoots, dirs: &[PathBuf]) {
    if dirs.is_empty() {
        return;
    }
    match roots.0.iter_mut().find(|(e, _)| e == "base") {
        Some((_, d)) => *d = dirs.to_vec(),
        None => roots.0.insert(0, ("base".into(), dirs.to_vec())),
    }
}

/// A job's `--saltenv`/`--pillarenv` and Salt's `saltenv=`, `pillarenv=`,
/// `pillar=` words, shared by `apply --local` and `show --local`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct JobOpts {
    /// Salt environment to compile from (Salt's `saltenv=ENV`).
    #[arg(long, value_name = "ENV", global = true)]
    pub saltenv: Option<String>,
    /// Pillar environment to compile the pillar from (Salt's `pillarenv=ENV`).
    #[arg(long, value_name = "ENV", global = true)]
    pub pillarenv: Option<String>,
}

impl JobOpts {
    /// The job's choices from the flags and the words; the other words
    /// (SLS names) are returned in order.
    pub fn job(&self, words: &[String]) -> Result<(JobEnv, Vec<String>)> {
        let (job, rest) = JobEnv::from_cli_words(words)?;
        let job = job.with_flags(self.saltenv.clone(), self.pillarenv.clone())?;
        Ok((job, rest))
    }
}
