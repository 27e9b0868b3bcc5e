//! `master`: the Brine master daemon and the operator's commands.
//! Exit status: 0 success, 1 could not run, 2 a state failed, 3 a targeted
//! minion did not return.
use clap::Parser;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Set before the first allocation, from a load-time constructor (see
// `process_tuning::alloc`): the idle daemon's RSS kept its last job's pages.
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_MIMALLOC: extern "C" fn() = process_tuning::alloc::tune_mimalloc;

fn main() {
    let cli = master::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BRINE_LOG").unwrap_or_else(|_| {
                // The daemon logs its lifecycle; the CLI only problems.
                if cli.is_serve() {
                    "info".into()
                } else {
                    "warn".into()
                }
            }),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person: journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match master::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        // A reader that stopped reading (`master apply ... | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
