//! `dist_assets OUT_DIR`: writes the shell completions and man pages of the
//! `master` and `minion` binaries, generated from their clap definitions, so
//! what the packages ship cannot drift from the flags the binaries accept.
//!
//! A separate build-time binary rather than a build.rs, so ordinary builds do
//! not pay for it; scripts/build-debs.sh runs it before `cargo deb`. Layout:
//!
//! ```text
//! OUT_DIR/completions/bash/{master,minion}
//! OUT_DIR/completions/zsh/_{master,minion}
//! OUT_DIR/completions/fish/{master,minion}.fish
//! OUT_DIR/man/{master,minion}.1 and one page per subcommand (master-apply.1, ...)
//! ```
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        eprintln!("usage: dist_assets OUT_DIR");
        return ExitCode::from(2);
    };
    let out = PathBuf::from(out);
    let commands = [
        ("master", master::cli::Cli::command()),
        ("minion", minion::cli::Cli::command()),
    ];
    for (name, command) in commands {
        if let Err(e) = write_assets(&out, name, command) {
            eprintln!("dist_assets: {name}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn write_assets(out: &Path, name: &str, mut command: clap::Command) -> io::Result<()> {
    for (shell, file) in [
        // bash-completion loads a command's completion from a file named after it.
        (Shell::Bash, name.to_string()),
        (Shell::Zsh, format!("_{name}")),
        (Shell::Fish, format!("{name}.fish")),
    ] {
        let dir = out.join("completions").join(shell.to_string());
        fs::create_dir_all(&dir)?;
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command, name, &mut script);
        fs::write(dir.join(file), script)?;
    }
    let man = out.join("man");
    fs::create_dir_all(&man)?;
    // One page for the command and one per subcommand, named `master-apply.1`;
    // none for clap's `help` subcommands, which only repeat the pages.
    clap_mangen::generate_to(without_help_subcommands(command), &man)
}

fn without_help_subcommands(command: clap::Command) -> clap::Command {
    command
        .disable_help_subcommand(true)
        .mut_subcommands(without_help_subcommands)
}
