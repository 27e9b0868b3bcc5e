//! `__salt__['mod.fun'](*args, **kwargs)` from outside a template: what a
//! `#!py` SLS calls, answered by the same functions as `salt[...]` in Jinja.
use minijinja::value::{Kwargs, Value as JValue};

use super::convert::{to_data, to_jinja};
use super::salt_fns::SaltFunctions;
use super::Session;
use crate::data::{Map, Value};

impl Session {
    /// Calls the template function `fun` with data arguments. The error is
    /// the function's message (it names the function when it is unknown).
    pub fn call_salt(
        &self,
        fun: &str,
        args: &[Value],
        kwargs: &Map<String, Value>,
    ) -> Result<Value, String> {
        let salt = self
            .base
            .get("salt")
            .and_then(|s| s.downcast_object_ref::<SaltFunctions>())
            .expect("every session has the salt functions");
        let args: Vec<JValue> = args.iter().map(to_jinja).collect();
        let kwargs: Kwargs = kwargs
            .iter()
            .map(|(k, v)| (k.as_str(), to_jinja(v)))
            .collect();
        salt.call(fun, &args, &kwargs)
            .map(|v| to_data(&v))
            .map_err(|e| match e.detail() {
                Some(detail) => detail.to_string(),
                None => e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::render::NoHost;

    fn session() -> Session {
        Session::new(
            &json!({"os": "Debian", "roles": ["web", "db"], "id": "web1"}),
            &json!({"app": {"port": 8080, "users": {"zed": 1, "amy": 2}}}),
            &json!({"id": "web1", "file_client": "local"}),
            "base",
            Arc::new(NoHost),
        )
    }

    fn call(fun: &str, args: Value, kwargs: Value) -> Result<Value, String> {
        let args = args.as_array().cloned().unwrap_or_default();
        let kwargs = kwargs.as_object().cloned().unwrap_or_default();
        session().call_salt(fun, &args, &kwargs)
    }

    #[test]
    fn grains_and_pillar_functions_answer_as_in_templates() {
        assert_eq!(
            call("grains.get", json!(["os"]), json!({})),
            Ok(json!("Debian"))
        );
        assert_eq!(
            call("grains.get", json!(["roles:1"]), json!({})),
            Ok(json!("db"))
        );
        assert_eq!(
            call("grains.get", json!(["roles.0"]), json!({"delimiter": "."})),
            Ok(json!("web"))
        );
        assert_eq!(
            call("grains.get", json!(["nope"]), json!({"default": [1]})),
            Ok(json!([1]))
        );
        assert_eq!(
            call("pillar.get", json!(["nope"]), json!({})),
            Ok(json!(""))
        );
        assert_eq!(
            call("config.get", json!(["file_client"]), json!({})),
            Ok(json!("local"))
        );
        let users = call("pillar.get", json!(["app:users"]), json!({})).unwrap();
        let keys: Vec<_> = users.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["zed", "amy"], "pillar order is kept");
    }

    #[test]
    fn data_arguments_convert_both_ways() {
        assert_eq!(
            call(
                "pillar.get",
                json!(["nope"]),
                json!({"default": {"a": {"b": 1}}})
            ),
            Ok(json!({"a": {"b": 1}}))
        );
        assert_eq!(
            call(
                "slsutil.merge",
                json!([{"a": {"x": 1}, "l": [1]}, {"a": {"y": 2}, "l": [2]}]),
                json!({})
            ),
            Ok(json!({"a": {"x": 1, "y": 2}, "l": [2]}))
        );
        assert_eq!(
            call(
                "grains.filter_by",
                json!([{"Debian": {"pkg": "apache2"}, "RedHat": {"pkg": "httpd"}}]),
                json!({"grain": "os"})
            ),
            Ok(json!({"pkg": "apache2"}))
        );
    }

    #[test]
    fn errors_are_the_functions_messages() {
        let e = call("nope.nope", json!([]), json!({})).unwrap_err();
        assert!(
            e.starts_with("salt['nope.nope'] is not available when rendering in Brine"),
            "{e}"
        );
        let e = call("cmd.run", json!(["ls"]), json!({})).unwrap_err();
        assert_eq!(e, "host probe unavailable: cmd.run \"ls\"");
        let e = call("grains.get", json!([]), json!({})).unwrap_err();
        assert_eq!(e, "salt['grains.get'] needs 'key'");
    }
}
