//! `minion`: the Brine minion binary. Exit status: 0 success, 1 could not run.
use clap::Parser;

// A third of compile time was the system allocator (many small strings and
// maps); mimalloc halves it.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's options must be set before the first Rust allocation (the
// runtime allocates before `main`), so they are set from a load-time
// constructor (see `process_tuning::alloc`).
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_MIMALLOC: extern "C" fn() = process_tuning::alloc::tune_mimalloc;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BRINE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person: journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = minion::cli::Cli::parse();
    match minion::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        // A reader that stopped reading (`minion grains | head`) is not an error.
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
