//! The command line: shared flags before or after the subcommand, and
//! `--out` refused where the command cannot print that format.
use std::path::PathBuf;

use clap::{CommandFactory, Parser};

use super::{Cli, Command, Out};

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("minion").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn the_definitions_are_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn config_and_out_go_before_or_after_the_subcommand() {
    for command in [
        vec!["grains"],
        vec!["show", "--local", "lowstate"],
        vec!["apply", "--local"],
    ] {
        let flags = ["--config", "/etc/m.yaml", "--out", "json"];
        let before: Vec<&str> = flags.into_iter().chain(command.clone()).collect();
        let after: Vec<&str> = command.iter().copied().chain(flags).collect();
        for args in [before, after] {
            let cli = parse(&args);
            assert_eq!(
                cli.local.config,
                Some(PathBuf::from("/etc/m.yaml")),
                "{args:?}"
            );
            assert_eq!(cli.out, Some(Out::Json), "{args:?}");
        }
    }
    let cli = parse(&["--config", "/etc/m.yaml", "serve"]);
    assert!(matches!(cli.command, Command::Serve(_)));
    assert_eq!(cli.local.config, Some(PathBuf::from("/etc/m.yaml")));
}

#[test]
fn a_format_the_command_cannot_print_is_refused_by_name() {
    for (args, wanted) in [
        (
            vec!["grains", "--out", "highstate"],
            "`minion grains` cannot print --out highstate",
        ),
        (
            vec!["--out", "highstate", "show", "--local", "top"],
            "`minion show` cannot print --out highstate",
        ),
        (
            vec!["apply", "--local", "--out", "nested"],
            "`minion apply` cannot print --out nested",
        ),
        (
            vec!["serve", "--out", "json"],
            "`minion serve` prints no result",
        ),
    ] {
        let err = super::run(parse(&args)).expect_err("refused");
        assert!(err.to_string().contains(wanted), "{args:?}: {err:#}");
    }
}
