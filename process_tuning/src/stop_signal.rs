//! The signals that ask a daemon to stop: SIGTERM (`systemctl stop`, `kill`)
//! and SIGINT (Ctrl-C in a terminal).

/// Completes when the process gets SIGTERM or SIGINT; says which. Needs a
/// Tokio runtime with its I/O driver. If a handler cannot be installed, only
/// the other signal stops the daemon (and that is logged).
pub async fn terminate_or_interrupt() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())
        .inspect_err(|e| tracing::error!(error = %e, "cannot handle SIGTERM"))
        .ok();
    let mut int = signal(SignalKind::interrupt())
        .inspect_err(|e| tracing::error!(error = %e, "cannot handle SIGINT"))
        .ok();
    async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    tokio::select! {
        _ = next(&mut term) => "SIGTERM",
        _ = next(&mut int) => "SIGINT",
    }
}
