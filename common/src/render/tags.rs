//! Salt's own Jinja tags, rewritten into MiniJinja syntax before compiling.
//!
//! Salt adds `import_yaml`, `import_json`, `import_text` and the block tags
//! `load_yaml`/`load_json`/`load_text` … `endload`. MiniJinja has no custom
//! tags, so they become `set` statements that call our globals/filters. The
//! rewrite never adds or removes newlines, so error line numbers stay true.
use regex::Regex;
use std::sync::OnceLock;

fn tag_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?s)\{%(-|\+)?\s*(import_yaml|import_json|import_text|load_yaml|load_json|load_text|endload)\b(.*?)(-|\+)?%\}",
        )
        .expect("static regex")
    })
}

fn import_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?s)^\s*(.+?)\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\s*$").expect("static regex")
    })
}

fn load_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\s*as\s+([A-Za-z_][A-Za-z0-9_]*)\s*$").expect("static regex"))
}

/// Rewrites Salt's serializer tags. Malformed tags are left as they are, so
/// MiniJinja reports them with their position.
pub fn rewrite(source: &str) -> String {
    if !source.contains("import_") && !source.contains("load_") {
        return source.to_string();
    }
    let mut out = String::with_capacity(source.len() + 64);
    let mut last = 0;
    let mut open_loads: Vec<(String, &'static str)> = Vec::new();
    for caps in tag_re().captures_iter(source) {
        let whole = caps.get(0).expect("match");
        let lws = caps.get(1).map_or("", |m| m.as_str());
        let rws = caps.get(4).map_or("", |m| m.as_str());
        let tag = &caps[2];
        let rest = &caps[3];
        let replacement = match tag {
            "import_yaml" | "import_json" | "import_text" => import_re().captures(rest).map(|c| {
                let kind = &tag["import_".len()..];
                format!(
                    "{{%{lws} set {} = __salt_import({}, \"{kind}\") {rws}%}}",
                    &c[2], &c[1]
                )
            }),
            "load_yaml" | "load_json" | "load_text" => load_re().captures(rest).map(|c| {
                let kind: &'static str = match tag {
                    "load_yaml" => "load_yaml",
                    "load_json" => "load_json",
                    _ => "string",
                };
                open_loads.push((c[1].to_string(), kind));
                format!("{{%{lws} set {} {rws}%}}", &c[1])
            }),
            _ => open_loads.pop().map(|(name, filter)| {
                format!("{{%{lws} endset %}}{{% set {name} = {name}|{filter} {rws}%}}")
            }),
        };
        if let Some(r) = replacement {
            out.push_str(&source[last..whole.start()]);
            // Keep the line count identical to the source.
            let newlines = whole.as_str().matches('\n').count();
            out.push_str(&r);
            out.push_str(&"\n".repeat(newlines.saturating_sub(r.matches('\n').count())));
            last = whole.end();
        }
    }
    out.push_str(&source[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn import_yaml_becomes_set() {
        assert_eq!(
            rewrite("{%- import_yaml tplroot ~ \"/defaults.yaml\" as defaults %}"),
            "{%- set defaults = __salt_import(tplroot ~ \"/defaults.yaml\", \"yaml\") %}"
        );
    }

    #[test]
    fn load_blocks_become_set_blocks_and_keep_lines() {
        let src = "{% load_yaml as data %}\na: 1\n{% endload -%}\nx";
        let out = rewrite(src);
        assert_eq!(
            out,
            "{% set data %}\na: 1\n{% endset %}{% set data = data|load_yaml -%}\nx"
        );
        assert_eq!(out.lines().count(), src.lines().count());
    }

    #[test]
    fn untouched_without_salt_tags() {
        let src = "{% set x = 1 %}{{ x }}";
        assert_eq!(rewrite(src), src);
    }
}
