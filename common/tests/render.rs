//! The renderer against real files in a temp tree.
// Tests build their fixtures: clippy.toml's host-changing calls are fine here.
#![allow(clippy::disallowed_methods)]
use std::sync::Arc;

use common::render::{NoHost, RenderError, Renderer, Session, Stage};
use serde_json::{json, Value};

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn session(grains: Value, pillar: Value) -> Session {
    Session::new(
        &grains,
        &pillar,
        &json!({"id": "web01"}),
        "base",
        Arc::new(NoHost),
    )
}

fn render(files: &[(&str, &str)], file: &str) -> Result<String, RenderError> {
    let dir = tree(files);
    let r = Renderer::new(vec![dir.path().to_path_buf()]);
    let s = session(
        json!({"os_family": "Debian", "os": "Debian", "roles": ["web", "db"]}),
        json!({"app": {"port": 8080, "users": ["a"]}}),
    );
    r.render_text(
        &s,
        file,
        Some(&file.trim_end_matches(".sls").replace('/', ".")),
    )
}

#[test]
fn literals_are_mutable_and_shared() {
    let out = render(&[("a.sls", "{% set d = {'x': 1} %}{% set e = d %}{% do e.update({'y': [1]}) %}{% do d.y.append(2) %}{{ d }}")], "a.sls").unwrap();
    assert_eq!(out, "{'x': 1, 'y': [1, 2]}");
}

#[test]
fn python_printing_and_percent_format() {
    let out = render(&[("a.sls", "{{ True }} {{ none }} {{ [1, 'a'] }} {{ '%s-%03d' % ('x', 7) }} {{ '%(a)s' % {'a': 'b'} }}")], "a.sls").unwrap();
    assert_eq!(out, "True None [1, 'a'] x-007 b");
}

#[test]
fn salt_pillar_and_grains_functions() {
    let src = "{{ salt['pillar.get']('app:port') }} {{ salt['pillar.get']('nope', 'dflt') }} [{{ salt['pillar.get']('nope') }}] {{ salt['grains.get']('roles:1') }} {{ salt['config.get']('id') }}";
    assert_eq!(
        render(&[("a.sls", src)], "a.sls").unwrap(),
        "8080 dflt [] db web01"
    );
}

#[test]
fn filter_by_with_base_and_merge() {
    let src = "{% set m = salt['grains.filter_by']({'default': {'pkg': 'x', 'svc': 's'}, 'Debian': {'pkg': 'apache2'}, 'RedHat': {'pkg': 'httpd'}}, merge={'extra': 1}, base='default') %}{{ m }}";
    assert_eq!(
        render(&[("a.sls", src)], "a.sls").unwrap(),
        "{'pkg': 'apache2', 'svc': 's', 'extra': 1}"
    );
}

#[test]
fn map_jinja_import_with_context_and_import_yaml() {
    let files = [
        ("web/map.jinja", "{%- set tplroot = tpldir.split('/')[0] %}{%- import_yaml tplroot ~ '/defaults.yaml' as d %}{%- set web = salt['defaults.merge'](d, {'port': pillar.app.port}) %}"),
        ("web/defaults.yaml", "port: 80\nname: {{ grains.os }}\n"),
        ("web/init.sls", "{% from 'web/map.jinja' import web with context %}{{ web.name }}:{{ web.port }}"),
    ];
    assert_eq!(render(&files, "web/init.sls").unwrap(), "Debian:8080");
}

#[test]
fn load_yaml_block_and_filters() {
    let src = "{% load_yaml as y %}\na: [1, 2]\n{% endload %}{{ y.a | json }} {{ {'b': 1, 'a': 2} | json }} {{ 'a-b' | regex_replace('(a)-(b)', '\\\\2\\\\1') }} {{ 'yes' | to_bool }}";
    assert_eq!(
        render(&[("a.sls", src)], "a.sls").unwrap(),
        "[1, 2] {\"a\": 2, \"b\": 1} ba True"
    );
}

#[test]
fn undefined_is_an_error_with_file_and_line() {
    let err = render(
        &[("web/init.sls", "a: 1\nb: {{ missing.attr }}\n")],
        "web/init.sls",
    )
    .unwrap_err();
    assert_eq!(err.file, "web/init.sls");
    assert_eq!(err.stage, Stage::Jinja);
    assert_eq!(err.line, Some(2));
    let text = err.to_string();
    assert!(text.contains("web/init.sls, line 2"), "{text}");
    assert!(text.contains("b: {{ missing.attr }}"), "{text}");
}

#[test]
fn jinja_syntax_error_points_at_the_line() {
    let err = render(&[("a.sls", "x: 1\n{% if %}\n")], "a.sls").unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.to_string().contains("syntax error"), "{err}");
}

#[test]
fn sls_context_variables() {
    let files = [(
        "a/b/init.sls",
        "{{ sls }}|{{ tpldir }}|{{ slspath }}|{{ tplfile }}|{{ sls_path }}",
    )];
    let dir = tree(&files);
    let r = Renderer::new(vec![dir.path().to_path_buf()]);
    let out = r
        .render_text(&session(json!({}), json!({})), "a/b/init.sls", Some("a.b"))
        .unwrap();
    assert_eq!(out, "a.b|a/b|a/b|a/b/init.sls|a_b");
}

#[test]
fn salt_module_attribute_calls_match_the_bracket_form() {
    // Salt allows salt.file.dirname(...) as well as salt['file.dirname'](...);
    // salt.config.get must not silently return None.
    let src = "{{ salt.file.dirname('/a/b') }} {{ salt.config.get('id') }} {{ salt.pillar.get('app:port') }}";
    assert_eq!(render(&[("a.sls", src)], "a.sls").unwrap(), "/a web01 8080");
}

#[test]
fn jinja2_compat_forms_formulas_use() {
    let src = "{{ ''|default('x', boolean=True) }} {{ none is iterable }} {{ [] is iterable }} \
               {{ 'a.b.c'.rpartition('.')[2] }} {{ 'a.b.c'.partition('.')[0] }} {{ 'a b c'.rsplit(' ', 1) }} \
               {{ '7'.zfill(3) }} {{ odict([('b', 1), ('a', 2)]) }} {% set d = {'k': 1} %}{{ d.pop('z', None) }}";
    assert_eq!(
        render(&[("a.sls", src)], "a.sls").unwrap(),
        "x False True c a ['a b', 'c'] 007 {'b': 1, 'a': 2} None"
    );
}

#[test]
fn do_takes_any_expression_as_in_jinja2() {
    let src = "{% set d = {'a': 1, 'b': 2} %}{% do d.pop('a') if d.a is defined %}{% do d.pop('z') if false %}\
               {% for i in range(3) %}{% do d.update({i: i}) %}{% endfor %}{{ d }}";
    assert_eq!(
        render(&[("a.sls", src)], "a.sls").unwrap(),
        "{'b': 2, 0: 0, 1: 1, 2: 2}"
    );
}

/// Found by the `sls_render` fuzz target: the error position is an offset in
/// the template after `import_yaml` was rewritten, and read against the file
/// as written it fell inside a multi-byte character (a panic).
#[test]
fn error_columns_after_a_rewritten_tag_and_in_non_ascii_lines() {
    let files = [
        ("d.yaml", "k: v\n"),
        (
            "a.sls",
            "{% import_yaml 'd.yaml' as d %}\n{{ nope.x }}éééééééééé\nx: 1\n",
        ),
    ];
    let err = render(&files, "a.sls").unwrap_err();
    assert_eq!((err.line, err.column), (Some(2), Some(4)), "{err}");
    let err = render(&[("b.sls", "ééé {{ nope.x }}\n")], "b.sls").unwrap_err();
    assert_eq!((err.line, err.column), (Some(1), Some(8)), "{err}");
}

fn render_sls_with_pillar(src: &str, pillar: Value) -> RenderError {
    let dir = tree(&[("a.sls", src)]);
    let r = Renderer::new(vec![dir.path().to_path_buf()]);
    r.render_sls(&session(json!({}), pillar), "a.sls", Some("a"))
        .unwrap_err()
}

#[test]
fn a_yaml_error_in_rendered_output_hides_pillar_values_and_keeps_its_column() {
    let pillar = json!({"db": {"password": "hunter2: x", "users": ["sam", "alice-secret"]}});
    let src = "conf:\n  file.managed:\n    - contents: {{ pillar.db.users[1] }} {{ pillar.db.password }}\n";
    let err = render_sls_with_pillar(src, pillar);
    assert_eq!(err.stage, Stage::Yaml, "{err}");
    assert!(err.in_rendered_output, "{err}");
    let shown = err.to_string();
    assert!(
        !shown.contains("hunter2") && !shown.contains("alice-secret"),
        "{shown}"
    );
    let line = err.source_line.as_deref().unwrap();
    assert_eq!(
        line,
        "    - contents: <pillar db:users:1> <pillar db:password>"
    );
    // YAML stops at the `:` inside the password: the caret points at the
    // placeholder of the value that holds it.
    let col = err.column.unwrap();
    assert_eq!(&line[col - 1..], "<pillar db:password>", "{shown}");
}

#[test]
fn a_jinja_error_message_hides_pillar_values() {
    let pillar = json!({"tpl": "secret-77aa.j2", "port": "80"});
    let err = render_sls_with_pillar("{% include pillar.tpl ~ pillar.port %}\n", pillar);
    assert_eq!(err.stage, Stage::Jinja, "{err}");
    let shown = err.to_string();
    assert!(!shown.contains("secret-77aa"), "{shown}");
    // Strings under four characters stay: they hide nothing worth a key.
    assert!(shown.contains("'<pillar tpl>80'"), "{shown}");
    // The file's own line is shown as written.
    assert!(
        shown.contains("1 | {% include pillar.tpl ~ pillar.port %}"),
        "{shown}"
    );
}
