//! Target expressions. Stand-in with the final API (glob, list, grain only)
//! until the full matcher lands.
use crate::data::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Glob,
    Pcre,
    List,
    Grain,
    GrainPcre,
    Pillar,
    PillarPcre,
    PillarExact,
    Ipcidr,
    Compound,
    Nodegroup,
}

impl TargetKind {
    pub fn from_salt_name(s: &str) -> Option<Self> {
        Some(match s {
            "glob" => Self::Glob,
            "pcre" => Self::Pcre,
            "list" => Self::List,
            "grain" => Self::Grain,
            "grain_pcre" => Self::GrainPcre,
            "pillar" => Self::Pillar,
            "pillar_pcre" => Self::PillarPcre,
            "pillar_exact" => Self::PillarExact,
            "ipcidr" => Self::Ipcidr,
            "compound" => Self::Compound,
            "nodegroup" => Self::Nodegroup,
            _ => return None,
        })
    }
}

pub struct Facts<'a> {
    pub id: &'a str,
    pub grains: &'a Value,
    pub pillar: &'a Value,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(String);

pub fn matches(
    expr: &str,
    kind: TargetKind,
    facts: &Facts,
    _nodegroups: &Map<String, Value>,
) -> Result<bool, TargetError> {
    use crate::render::fnmatch;
    match kind {
        TargetKind::Glob | TargetKind::Compound => Ok(fnmatch(facts.id, expr)),
        TargetKind::List => Ok(expr.split(',').any(|x| x.trim() == facts.id)),
        TargetKind::Grain => {
            let (path, pat) = expr
                .rsplit_once(':')
                .ok_or_else(|| TargetError("bad grain target".into()))?;
            Ok(match crate::data::traverse(facts.grains, path, ":") {
                Some(Value::Array(items)) => {
                    items.iter().any(|i| fnmatch(&crate::pyfmt::py_str(i), pat))
                }
                Some(v) => fnmatch(&crate::pyfmt::py_str(v), pat),
                None => false,
            })
        }
        _ => Err(TargetError(format!("{kind:?} not yet supported"))),
    }
}
