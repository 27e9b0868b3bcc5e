//! Host processes for the fleet: spawning nspawn from a long-lived thread,
//! running commands with a deadline, signals, and the process tree.
use std::io::{self, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// Spawns `cmd` from one thread that lives as long as the process, so that a
/// parent-death signal set up for the child fires at process exit, not when the
/// (test) thread that asked for it ends.
pub(super) fn spawn_from_long_lived_thread(cmd: Command) -> io::Result<Child> {
    type Request = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        thread::Builder::new()
            .name("fleet-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("cannot start the fleet spawner thread");
        Mutex::new(tx)
    });
    let (tx, rx) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, tx))
        .map_err(|_| io::Error::other("the fleet spawner thread is gone"))?;
    rx.recv()
        .map_err(|_| io::Error::other("the fleet spawner thread is gone"))?
}

/// What a command reads on stdin.
pub(super) enum Input {
    None,
    Bytes(Vec<u8>),
    Stdio(Stdio),
}

/// An `Output` for a command that could not be run: status 127, `why` on stderr.
pub(super) fn failed_output(why: String) -> Output {
    Output {
        status: ExitStatus::from_raw(127 << 8),
        stdout: Vec::new(),
        stderr: why.into_bytes(),
    }
}

/// Runs `cmd` to completion with `input` on stdin, capturing stdout and stderr;
/// kills it (and its children: nsenter forks the command it runs) after `timeout`.
pub(super) fn run_output(mut cmd: Command, input: Input, timeout: Duration) -> Output {
    let bytes = match input {
        Input::None => {
            cmd.stdin(Stdio::null());
            None
        }
        Input::Bytes(b) => {
            cmd.stdin(Stdio::piped());
            Some(b)
        }
        Input::Stdio(s) => {
            cmd.stdin(s);
            None
        }
    };
    let mut child = match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => return failed_output(format!("cannot start {cmd:?}: {e}")),
    };
    // Stdin, stdout and stderr each on their own thread so no pipe can fill up.
    let writer = bytes.and_then(|b| {
        let mut stdin = child.stdin.take()?;
        Some(thread::spawn(move || {
            let _ = stdin.write_all(&b);
        }))
    });
    let drain = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                for pid in children_of(child.id()) {
                    signal(pid, "KILL");
                }
                let _ = child.kill();
                break child.wait().unwrap_or_else(|_| ExitStatus::from_raw(9));
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return failed_output(format!("waiting for {cmd:?}: {e}")),
        }
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = stdout.join().unwrap_or_default();
    let mut stderr = stderr.join().unwrap_or_default();
    if timed_out {
        stderr.extend_from_slice(format!("\n[fleet: killed after {timeout:?}]\n").as_bytes());
    }
    Output {
        status,
        stdout,
        stderr,
    }
}

/// Sends `sig` (a name, e.g. "TERM") to `pid` with the shell's `kill`.
pub(super) fn signal(pid: u32, sig: &str) {
    let _ = Command::new("sh")
        .args([
            "-c",
            "kill -s \"$1\" \"$2\" 2>/dev/null",
            "sh",
            sig,
            &pid.to_string(),
        ])
        .stdin(Stdio::null())
        .status();
}

/// The parent pid of `pid`, from /proc.
pub(super) fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The pids whose parent is `pid`.
pub(super) fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| parent_of(p) == Some(pid))
        .collect()
}

/// The last `max` bytes of `s` (at a char boundary), marked when clipped.
pub(super) fn clip_tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let cut = (s.len() - max..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    format!("[... {cut} bytes before]\n{}", &s[cut..])
}
