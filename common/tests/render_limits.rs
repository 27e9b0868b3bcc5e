//! Templates that would hang the renderer or exhaust its memory end with a
//! render error instead (found with the `sls_render` fuzz target; the inputs
//! are also in fuzz/regressions/sls_render/). Each case is sized so that
//! without its limit it would render successfully (slowly, or using a few
//! hundred MB) and the assertion would fail, rather than take the machine
//! down.
// Tests build their fixtures: clippy.toml's host-changing calls are fine here.
#![allow(clippy::disallowed_methods)]
use std::sync::Arc;

use common::render::{NoHost, RenderError, Renderer, Session, MAX_IMPORT_DEPTH};
use serde_json::json;

fn render(files: &[(&str, &str)], file: &str) -> Result<serde_json::Value, RenderError> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let session = Session::new(
        &json!({"id": "web1"}),
        &json!({}),
        &json!({}),
        "base",
        Arc::new(NoHost),
    );
    Renderer::new(vec![dir.path().to_path_buf()]).render_sls(&session, file, None)
}

fn out_of_fuel(result: Result<serde_json::Value, RenderError>) -> bool {
    match result {
        Err(e) => e.message.contains("more work than one render may"),
        Ok(v) => panic!(
            "rendered: {}",
            &v.to_string()[..v.to_string().len().min(200)]
        ),
    }
}

#[test]
fn a_runaway_loop_runs_out_of_fuel() {
    let src = "{% for i in range(3000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}x: 1\n";
    assert!(out_of_fuel(render(&[("a.sls", src)], "a.sls")));
}

#[test]
fn a_list_doubled_in_a_loop_runs_out_of_fuel() {
    // 2^23 items in the end: MiniJinja cannot see inside Brine's mutable
    // lists, so `extend` pays for what it adds.
    let src = "{% set l = [1] %}{% for i in range(23) %}{% do l.extend(l) %}{% endfor %}x: {{ l | length }}\n";
    assert!(out_of_fuel(render(&[("a.sls", src)], "a.sls")));
}

#[test]
fn strings_built_with_percent_are_paid_for() {
    // 3000 strings of 100 kB: `%` is Brine's patch to MiniJinja, which did
    // not charge its result.
    let src = "{% set l = [] %}{% for i in range(3000) %}{% do l.append('%100000s' % i) %}{% endfor %}x: 1\n";
    assert!(out_of_fuel(render(&[("a.sls", src)], "a.sls")));
}

#[test]
fn sizes_taken_from_the_template_are_bounded() {
    assert!(out_of_fuel(render(
        &[("a.sls", "x: {{ '7'.zfill(300000000) | length }}\n")],
        "a.sls"
    )));
    assert!(out_of_fuel(render(
        &[(
            "a.sls",
            "x: {{ ('x' * 100000) | regex_replace('', 'y' * 3000) | length }}\n"
        )],
        "a.sls"
    )));
    let err = render(&[("a.sls", "x: {{ '%2000000d' % 1 }}\n")], "a.sls").unwrap_err();
    assert!(err.message.contains("format width"), "{err}");
    // Ordinary widths still work.
    assert_eq!(
        render(
            &[("a.sls", "x: '{{ '%5d' % 7 }}{{ '7'.zfill(3) }}'\n")],
            "a.sls"
        )
        .unwrap(),
        json!({"x": "    7007"})
    );
}

#[test]
fn a_file_importing_itself_is_refused() {
    let err = render(
        &[("a.sls", "{% import_yaml 'a.sls' as x %}x: 1\n")],
        "a.sls",
    )
    .unwrap_err();
    assert!(
        err.message
            .contains(&format!("nested more than {MAX_IMPORT_DEPTH} deep")),
        "{err}"
    );
}

#[test]
fn an_importer_pays_for_what_its_imports_used() {
    // One import fits in a render's fuel; two do not, although each import
    // renders with fuel of its own.
    let heavy = "{% for i in range(900) %}{% for j in range(1000) %}{% endfor %}{% endfor %}y: 1\n";
    let once = "{% import_yaml 'b.yaml' as b %}x: {{ b.y }}\n";
    assert_eq!(
        render(&[("a.sls", once), ("b.yaml", heavy)], "a.sls").unwrap(),
        json!({"x": 1})
    );
    let twice = "{% import_yaml 'b.yaml' as b %}{% import_yaml 'b.yaml' as c %}x: 1\n";
    assert!(out_of_fuel(render(
        &[("a.sls", twice), ("b.yaml", heavy)],
        "a.sls"
    )));
}
