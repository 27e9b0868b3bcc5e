//! Everything masterless mode needs to compile for this host: config, grains,
//! pillar, and the state tree, from the config file and command-line overrides.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use common::config::{MinionConfig, DEFAULT_MINION_CONFIG};
use common::data::Value;
use common::render::HostProbe;
use states::compile::{Minion, MinionTrees};

use crate::mine::{LocalMine, MasterlessProbe};

/// Command-line options shared by the local commands.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LocalOpts {
    /// Minion config file (Salt's keys: id, file_roots, pillar_roots, grains).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// State tree root (file_roots of saltenv base); repeatable.
    #[arg(long = "file-root", value_name = "DIR", global = true)]
    pub file_roots: Vec<PathBuf>,
    /// Pillar tree root (pillar_roots of saltenv base); repeatable.
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
    pub opts: Value,
    pub probe: Arc<dyn HostProbe>,
}

impl LocalInputs {
    pub fn load(o: &LocalOpts) -> Result<Self> {
        let mut config = match &o.config {
            Some(p) => MinionConfig::load(p, true)?,
            None => MinionConfig::load(std::path::Path::new(DEFAULT_MINION_CONFIG), false)?,
        };
        if !o.file_roots.is_empty() {
            config.file_roots = o.file_roots.clone();
        }
        if !o.pillar_roots.is_empty() {
            config.pillar_roots = o.pillar_roots.clone();
        }
        let mut grains = crate::grains::detect();
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

    /// The state and pillar trees of this config. A minion config has no
    /// `nodegroups`, so neither top matches one here.
    pub fn trees(&self) -> MinionTrees {
        MinionTrees::new(
            self.config.file_roots.clone(),
            self.config.pillar_roots.clone(),
            &self.config.saltenv,
            self.config.nodegroups.clone(),
        )
    }
}
