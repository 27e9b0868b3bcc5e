use std::sync::{Arc, Mutex};

use serde_json::json;

use super::*;
use crate::render::{ExternalError, ExternalRenderers, NoHost, SaltCall};

fn parse(pipe: &str) -> Result<String, String> {
    Pipeline::parse(pipe)
        .map(|p| p.to_string())
        .map_err(|e| e.to_string())
}

#[test]
fn pipes_parse_as_salt_reads_them() {
    assert_eq!(parse("jinja|yaml").unwrap(), "jinja|yaml");
    assert_eq!(parse(" jinja | yaml | gpg ").unwrap(), "jinja|yaml|gpg");
    assert_eq!(parse("yaml_jinja").unwrap(), "jinja|yaml");
    assert_eq!(parse("json_jinja").unwrap(), "jinja|json");
    assert_eq!(parse("jinja -s|json").unwrap(), "jinja|json");
    assert_eq!(parse("py").unwrap(), "py");
    let err = parse("mako|yaml").unwrap_err();
    assert!(
        err.contains("'mako'") && err.contains("not supported"),
        "{err}"
    );
    let err = parse("yaml_mako").unwrap_err();
    assert!(err.contains("'mako'"), "{err}");
    let err = parse("jinja|yamlex").unwrap_err();
    assert!(err.contains("'yamlex'"), "{err}");
    let err = parse("jinja|nosuch").unwrap_err();
    assert!(
        err.contains("'nosuch'") && err.contains("not a renderer"),
        "{err}"
    );
    let err = parse("yaml|jinja").unwrap_err();
    assert!(err.contains("'jinja'") && err.contains("first"), "{err}");
    let err = parse("jinja --bad|yaml").unwrap_err();
    assert!(err.contains("--bad"), "{err}");
    assert!(parse("jinja||yaml").is_err());
}

#[test]
fn only_a_first_line_shebang_that_is_not_a_path_names_a_pipe() {
    assert_eq!(Pipeline::shebang("#!yaml\na: 1\n"), Some("yaml"));
    assert_eq!(
        Pipeline::shebang("#! jinja | json \n"),
        Some("jinja | json")
    );
    assert_eq!(Pipeline::shebang("#!/bin/sh\n"), None);
    assert_eq!(Pipeline::shebang("a: 1\n#!yaml\n"), None);
    assert_eq!(Pipeline::shebang(""), None);
}

/// A stand-in for the binaries' programs: "decrypts" the messages it was
/// given, and runs a `#!py` file by answering with what it was handed.
#[derive(Default)]
struct Fake {
    plaintexts: Vec<(String, String)>,
    seen_py: Mutex<Option<(String, PyContext)>>,
}

impl ExternalRenderers for Fake {
    fn python(
        &self,
        file: &str,
        source: &str,
        context: &PyContext,
        salt: SaltCall<'_>,
    ) -> Result<Value, ExternalError> {
        *self.seen_py.lock().unwrap() = Some((file.to_string(), context.clone()));
        let called = salt("test.fake", &[], &Map::new()).unwrap_err();
        Ok(json!({"ran": {"test.nop": [{"source": source, "salt": called}]}}))
    }

    fn gpg_decrypt(&self, armored: &str) -> Result<String, ExternalError> {
        self.plaintexts
            .iter()
            .find(|(c, _)| c == armored)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| ExternalError::Failed("gpg: decryption failed: No secret key".into()))
    }
}

fn armor(body: &str) -> String {
    format!("-----BEGIN PGP MESSAGE-----\n\n{body}\n-----END PGP MESSAGE-----")
}

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new(files: &[(&str, &str)]) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Tree { dir }
    }

    fn renderer(&self) -> Renderer {
        Renderer::new(vec![self.dir.path().to_path_buf()])
    }
}

fn session(pillar: Value) -> Session {
    Session::new(
        &json!({"os": "Debian"}),
        &pillar,
        &json!({}),
        "base",
        Arc::new(NoHost),
    )
}

fn render(r: &Renderer, file: &str) -> Result<Value, RenderError> {
    r.render_sls(&session(json!({})), file, Some("x"))
}

#[test]
fn a_yaml_shebang_leaves_jinja_syntax_literal() {
    let t = Tree::new(&[(
        "x.sls",
        "#!yaml\nid:\n  cmd.run:\n    - name: echo '{{ grains.os }} {% raw %}'\n",
    )]);
    assert_eq!(
        render(&t.renderer(), "x.sls").unwrap(),
        json!({"id": {"cmd.run": [{"name": "echo '{{ grains.os }} {% raw %}'"}]}})
    );
}

#[test]
fn json_and_jinja_json_shebangs() {
    let t = Tree::new(&[
        (
            "a.sls",
            "#!json\n{\"id\": {\"cmd.run\": [{\"name\": \"{{ x }}\"}]}}\n",
        ),
        (
            "b.sls",
            "#!jinja|json\n{\"{{ grains.os }}\": {\"cmd.run\": [{\"name\": \"true\"}]}}\n",
        ),
        ("c.sls", "#!json\n{\"a\": 1,,}\n"),
        ("d.sls", "#!json\n"),
    ]);
    let r = t.renderer();
    assert_eq!(
        render(&r, "a.sls").unwrap(),
        json!({"id": {"cmd.run": [{"name": "{{ x }}"}]}})
    );
    assert_eq!(
        render(&r, "b.sls").unwrap(),
        json!({"Debian": {"cmd.run": [{"name": "true"}]}})
    );
    let err = render(&r, "c.sls").unwrap_err();
    assert_eq!((err.stage, err.line), (Stage::Json, Some(2)), "{err}");
    assert_eq!(render(&r, "d.sls").unwrap(), json!({}));
}

#[test]
fn an_unsupported_renderer_is_an_error_at_line_one_naming_it() {
    let t = Tree::new(&[("x.sls", "#!mako|yaml\nid: {}\n")]);
    let err = render(&t.renderer(), "x.sls").unwrap_err();
    assert_eq!(err.stage, Stage::Renderer);
    assert_eq!((err.file.as_str(), err.line), ("x.sls", Some(1)));
    let text = err.to_string();
    assert!(
        text.contains("'mako'") && text.contains("#!mako|yaml"),
        "{text}"
    );
}

#[test]
fn the_default_pipeline_applies_to_files_without_a_shebang() {
    let t = Tree::new(&[("x.sls", "a: '{{ grains.os }}'\n")]);
    let yaml_only = t
        .renderer()
        .with_default_pipeline(Pipeline::parse("yaml").unwrap());
    assert_eq!(
        render(&yaml_only, "x.sls").unwrap(),
        json!({"a": "{{ grains.os }}"})
    );
    assert_eq!(
        render(&t.renderer(), "x.sls").unwrap(),
        json!({"a": "Debian"})
    );
}

#[test]
fn a_pipeline_ending_in_text_gives_the_text() {
    let t = Tree::new(&[("x.sls", "#!jinja\n{{ grains.os }}\n")]);
    assert_eq!(
        render(&t.renderer(), "x.sls").unwrap(),
        json!("#!jinja\nDebian\n")
    );
}

#[test]
fn gpg_decrypts_each_message_and_records_its_key_path() {
    let pw = armor("AAAA");
    let src = format!(
        "#!yaml|gpg\ndb:\n  user: app\n  password: |\n    {}\nlist:\n  - \"before {} after\"\n",
        pw.replace('\n', "\n    "),
        pw.replace('\n', "\\n")
    );
    let t = Tree::new(&[("secrets.sls", &src)]);
    let fake = Fake {
        plaintexts: vec![(pw.clone(), "hunter2\n".into())],
        ..Fake::default()
    };
    let r = t.renderer().with_external(Arc::new(fake));
    let s = session(json!({}));
    let out = r.render_sls(&s, "secrets.sls", Some("secrets")).unwrap();
    assert_eq!(
        out,
        json!({"db": {"user": "app", "password": "hunter2"}, "list": ["before hunter2\n after"]})
    );
    let secrets: Vec<(String, String, String)> = s
        .secrets()
        .iter()
        .map(|x| (x.path.clone(), x.file.clone(), x.value().to_string()))
        .collect();
    assert_eq!(
        secrets,
        vec![
            ("db:password".into(), "secrets.sls".into(), "hunter2".into()),
            (
                "list:0".into(),
                "secrets.sls".into(),
                "before hunter2\n after".into()
            ),
        ]
    );
}

#[test]
fn an_undecryptable_value_fails_naming_its_key_and_never_passes_the_ciphertext_on() {
    let src = format!(
        "#!yaml|gpg\ndb:\n  password: |\n    {}\n",
        armor("BBBB").replace('\n', "\n    ")
    );
    let t = Tree::new(&[("secrets.sls", &src)]);
    let r = t
        .renderer()
        .with_external(Arc::new(Fake::default()))
        .for_pillar();
    let err = render(&r, "secrets.sls").unwrap_err();
    assert_eq!(err.stage, Stage::Gpg);
    let text = err.to_string();
    assert!(
        text.contains("pillar key 'db:password' (secrets.sls) could not be decrypted")
            && text.contains("No secret key"),
        "{text}"
    );
    // With no programs at all, the gpg renderer itself is named.
    let err = render(&t.renderer(), "secrets.sls")
        .unwrap_err()
        .to_string();
    assert!(err.contains("renderer 'gpg' is not available"), "{err}");
}

#[test]
fn a_string_without_a_whole_message_is_left_as_it_is() {
    let t = Tree::new(&[(
        "x.sls",
        "#!yaml|gpg\na: \"-----BEGIN PGP MESSAGE----- but no end\\n\"\n",
    )]);
    let r = t.renderer().with_external(Arc::new(Fake::default()));
    assert_eq!(
        render(&r, "x.sls").unwrap(),
        json!({"a": "-----BEGIN PGP MESSAGE----- but no end\n"})
    );
}

#[test]
fn py_runs_through_the_external_program_with_the_session_context() {
    let t = Tree::new(&[("web.sls", "#!py\ndef run():\n    return {}\n")]);
    let fake = Arc::new(Fake::default());
    let r = t.renderer().with_external(fake.clone());
    let s = session(json!({"role": "web"}));
    let out = r.render_sls(&s, "web.sls", Some("web")).unwrap();
    assert_eq!(
        out["ran"]["test.nop"][0]["source"],
        json!("#!py\ndef run():\n    return {}\n")
    );
    // __salt__ calls reach Session::call_salt.
    assert!(out["ran"]["test.nop"][0]["salt"]
        .as_str()
        .unwrap()
        .contains("test.fake"));
    let (file, ctx) = fake.seen_py.lock().unwrap().clone().unwrap();
    assert_eq!(file, "web.sls");
    assert_eq!((ctx.sls.as_str(), ctx.saltenv.as_str()), ("web", "base"));
    assert_eq!(ctx.pillar, json!({"role": "web"}));
    assert_eq!(ctx.grains, json!({"os": "Debian"}));
    // No programs: the py renderer is named.
    let err = render(&t.renderer(), "web.sls").unwrap_err().to_string();
    assert!(err.contains("renderer 'py' is not available"), "{err}");
}
