//! The command line: shared flags before or after the subcommand.
use std::path::PathBuf;

use clap::{CommandFactory, Parser};

use super::{Cli, Command, Out};

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("master").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn the_definitions_are_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn config_master_and_operator_key_go_before_or_after_the_subcommand() {
    let shared = [
        "--config",
        "/etc/m.yaml",
        "--master",
        "salt.example:4507",
        "--operator-key",
        "/k/op.key",
    ];
    let before: Vec<&str> = shared.iter().copied().chain(["keys", "list"]).collect();
    let after: Vec<&str> = ["keys", "list"].into_iter().chain(shared).collect();
    let nested: Vec<&str> = ["keys"].into_iter().chain(shared).chain(["list"]).collect();
    for args in [before, after, nested] {
        let cli = parse(&args);
        assert!(matches!(cli.command, Command::Keys(_)), "{args:?}");
        assert_eq!(
            cli.client.config,
            Some(PathBuf::from("/etc/m.yaml")),
            "{args:?}"
        );
        assert_eq!(
            cli.client.master.as_deref(),
            Some("salt.example:4507"),
            "{args:?}"
        );
        assert_eq!(
            cli.client.operator_key,
            Some(PathBuf::from("/k/op.key")),
            "{args:?}"
        );
    }
}

#[test]
fn out_goes_before_or_after_the_subcommand_of_every_command() {
    for command in [
        vec!["keys", "list"],
        vec!["jobs", "show", "20260101000000000001"],
        vec!["apply", "*"],
        vec!["run", "*", "test.ping"],
        vec!["render", "web1"],
    ] {
        let before: Vec<&str> = ["--out", "json"]
            .into_iter()
            .chain(command.clone())
            .collect();
        let after: Vec<&str> = command.iter().copied().chain(["--out", "json"]).collect();
        assert_eq!(parse(&before).out, Some(Out::Json), "{before:?}");
        assert_eq!(parse(&after).out, Some(Out::Json), "{after:?}");
        assert_eq!(parse(&command).out, None, "{command:?}");
    }
}

#[test]
fn an_unknown_out_value_is_refused_naming_the_values() {
    let err = Cli::try_parse_from(["master", "keys", "list", "--out", "xml"]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("xml") && text.contains("json"), "{text}");
}

#[test]
fn serve_refuses_the_flags_it_cannot_use() {
    for (args, wanted) in [
        (vec!["serve", "--out", "json"], "takes no --out"),
        (vec!["--master", "m:4507", "serve"], "--config only"),
        (vec!["serve", "--operator-key", "/k"], "--config only"),
    ] {
        let err = super::run(parse(&args)).expect_err("refused");
        assert!(err.to_string().contains(wanted), "{args:?}: {err:#}");
    }
}

#[test]
fn serve_takes_its_config_before_or_after() {
    for args in [
        vec!["--config", "/etc/m.yaml", "serve"],
        vec!["serve", "--config", "/etc/m.yaml"],
    ] {
        let cli = parse(&args);
        assert!(cli.is_serve(), "{args:?}");
        assert_eq!(cli.client.config, Some(PathBuf::from("/etc/m.yaml")));
    }
}

#[test]
fn job_env_flags_and_words_of_apply_and_run() {
    let cli = parse(&["apply", "*", "web", "saltenv=prod", "--pillarenv", "stage"]);
    let Command::Apply(a) = cli.command else {
        panic!("not apply")
    };
    let (env, sls) = a.env.job_env(&a.sls).unwrap();
    assert_eq!(sls, ["web"]);
    assert_eq!(env.saltenv.as_deref(), Some("prod"));
    assert_eq!(env.pillarenv.as_deref(), Some("stage"));
    let wire = super::env_opts::to_wire(&env).unwrap();
    assert_eq!(wire.saltenv.unwrap().as_str(), "prod");
    let cli = parse(&["run", "*", "state.apply", "--saltenv", "prod", "web"]);
    let Command::Run(r) = cli.command else {
        panic!("not run")
    };
    assert_eq!(r.env.saltenv.as_deref(), Some("prod"));
    assert_eq!(r.args, ["web"]);
    let cli = parse(&["apply", "*", "saltenv=a", "--saltenv", "b"]);
    let Command::Apply(a) = cli.command else {
        panic!("not apply")
    };
    let e = a.env.job_env(&a.sls).unwrap_err().to_string();
    assert!(e.contains("saltenv is given twice"), "{e}");
}
