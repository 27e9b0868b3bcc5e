//! Binding an execution function's `(args, kwargs)` to its parameters the
//! way Python binds a call: positionals fill the parameters in order, keywords
//! by name, and a parameter given twice, an unknown keyword, a positional
//! past the last parameter or a missing required one is an error naming it.
use common::data::{is_true, Map, Value};

use super::ExecError;

/// One parameter, in Salt's order for that function.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub required: bool,
    /// Salt has this parameter but Brine does not implement it: giving it is
    /// an error rather than an argument silently ignored.
    pub supported: bool,
    /// Given by name only (Salt's `**kwargs`): a positional never lands here.
    pub keyword_only: bool,
    /// Every keyword no other parameter names, as one map (Salt's
    /// `**kwargs` passed on whole: `state.single`'s state arguments).
    pub rest: bool,
}

impl Param {
    pub const fn required(name: &'static str) -> Self {
        Param {
            name,
            required: true,
            supported: true,
            keyword_only: false,
            rest: false,
        }
    }
    pub const fn optional(name: &'static str) -> Self {
        Param {
            name,
            required: false,
            supported: true,
            keyword_only: false,
            rest: false,
        }
    }
    /// One of Salt's `**kwargs` that Brine reads (`saltenv=`, `pillar=`).
    pub const fn keyword(name: &'static str) -> Self {
        Param {
            name,
            required: false,
            supported: true,
            keyword_only: true,
            rest: false,
        }
    }
    /// The keywords no other parameter takes, as a map under `name`.
    pub const fn rest(name: &'static str) -> Self {
        Param {
            name,
            required: false,
            supported: true,
            keyword_only: true,
            rest: true,
        }
    }
    /// Kept so later positionals land where Salt puts them.
    pub const fn unsupported(name: &'static str) -> Self {
        Param {
            name,
            required: false,
            supported: false,
            keyword_only: false,
            rest: false,
        }
    }
}

/// A call's arguments bound to its function's parameters.
pub struct Bound {
    function: &'static str,
    values: Map<String, Value>,
}

impl Bound {
    pub(super) fn bind(
        function: &'static str,
        params: &[Param],
        args: &[Value],
        kwargs: &Map<String, Value>,
    ) -> Result<Self, ExecError> {
        let positional = || params.iter().filter(|p| !p.keyword_only);
        let takes = positional().count();
        if args.len() > takes {
            return Err(ExecError::TooManyArguments {
                function,
                takes,
                given: args.len(),
            });
        }
        let mut values = Map::new();
        for (param, value) in positional().zip(args) {
            values.insert(param.name.to_string(), value.clone());
        }
        for (key, value) in kwargs {
            let Some(param) = params.iter().find(|p| p.name == key && !p.rest) else {
                if let Some(rest) = params.iter().find(|p| p.rest) {
                    let map = values
                        .entry(rest.name.to_string())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(map) = map {
                        map.insert(key.clone(), value.clone());
                    }
                    continue;
                }
                return Err(ExecError::UnknownArgument {
                    function,
                    argument: key.clone(),
                });
            };
            if values.contains_key(param.name) {
                return Err(ExecError::DuplicateArgument {
                    function,
                    argument: param.name.to_string(),
                });
            }
            values.insert(key.clone(), value.clone());
        }
        for param in params {
            if param.required && !values.contains_key(param.name) {
                return Err(ExecError::MissingArgument {
                    function,
                    argument: param.name.to_string(),
                });
            }
            // `None`, Salt's default for each of them, is the same as not given.
            if !param.supported && values.get(param.name).is_some_and(|v| !v.is_null()) {
                return Err(ExecError::UnsupportedArgument {
                    function,
                    argument: param.name.to_string(),
                });
            }
        }
        Ok(Bound { function, values })
    }

    /// The value as given, `None`/`null` included.
    pub fn given(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// The value unless absent or `None`/`null` (Salt's "not given").
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    pub(super) fn bad(&self, argument: &str, reason: impl Into<String>) -> ExecError {
        ExecError::BadArgument {
            function: self.function,
            argument: argument.to_string(),
            reason: reason.into(),
        }
    }

    /// A text argument; any other value is read as its JSON text (`grains.get
    /// 1`, `test.echo true` from the CLI, whose words are YAML).
    pub fn opt_str(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// A required text argument (binding already checked it is there).
    pub fn str(&self, name: &str) -> Result<String, ExecError> {
        self.opt_str(name)
            .ok_or_else(|| ExecError::MissingArgument {
                function: self.function,
                argument: name.to_string(),
            })
    }

    /// A boolean argument by Salt's `is_true`.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).map(is_true)
    }

    /// `KEY: value` pairs (Salt's `env`), values as their text.
    pub fn pairs(&self, name: &str) -> Result<Vec<(String, String)>, ExecError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Object(map)) => Ok(map
                .iter()
                .map(|(k, v)| (k.clone(), common::pyfmt::py_str(v)))
                .collect()),
            Some(Value::Array(items)) => {
                // Salt also takes a list of one-key maps.
                let mut out = Vec::new();
                for item in items {
                    let Value::Object(map) = item else {
                        return Err(self.bad(name, format!("expected a map, got {item}")));
                    };
                    out.extend(
                        map.iter()
                            .map(|(k, v)| (k.clone(), common::pyfmt::py_str(v))),
                    );
                }
                Ok(out)
            }
            Some(other) => Err(self.bad(name, format!("expected a map, got {other}"))),
        }
    }

    /// Salt's `mods`: `a,b` or a list.
    pub fn names(&self, name: &str) -> Result<Vec<String>, ExecError> {
        let items: Vec<String> = match self.get(name) {
            None => Vec::new(),
            Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.trim().to_string()),
                    other => Err(self.bad(name, format!("expected names, got {other}"))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(self.bad(name, format!("expected names, got {other}"))),
        };
        Ok(items.into_iter().filter(|s| !s.is_empty()).collect())
    }
}
