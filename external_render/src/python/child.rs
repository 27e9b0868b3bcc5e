//! The python3 child of one `#!py` render: its protocol pipes, read and
//! written by threads so the render's loop can wait with a timeout.
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use super::SHIM;

/// What came from the child.
#[derive(Debug)]
pub(super) enum Event {
    /// One protocol line, without its newline.
    Line(Vec<u8>),
    /// It closed the protocol pipe (usually: it exited).
    Ended,
    /// It sent more than the output cap.
    TooMuch,
    /// Nothing came within the time left.
    TimedOut,
}

/// A running `python3 -I -c <shim>`; killed and reaped when dropped.
pub(super) struct Child {
    process: std::process::Child,
    to_child: Option<Sender<Vec<u8>>>,
    from_child: Receiver<Event>,
}

impl Child {
    /// Starts the shim. Its stderr is the caller's, as Salt's py renderer
    /// leaves a module's prints on the daemon's output.
    pub(super) fn start(python: &Path, max_output: u64) -> std::io::Result<Child> {
        let mut process = Command::new(python)
            .arg("-I")
            .arg("-c")
            .arg(SHIM)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = process.stdin.take().expect("stdin was piped");
        let stdout = process.stdout.take().expect("stdout was piped");
        let (to_child, writes) = mpsc::channel::<Vec<u8>>();
        thread::Builder::new()
            .name("py-render-write".into())
            .spawn(move || write_lines(stdin, writes))?;
        let (events, from_child) = mpsc::channel();
        thread::Builder::new()
            .name("py-render-read".into())
            .spawn(move || read_lines(stdout, max_output, events))?;
        Ok(Child {
            process,
            to_child: Some(to_child),
            from_child,
        })
    }

    /// Queues one line (a newline is added). A child that is gone shows as
    /// [`Event::Ended`] on the next [`next`](Self::next).
    pub(super) fn send(&self, mut line: Vec<u8>) {
        line.push(b'\n');
        if let Some(tx) = &self.to_child {
            let _ = tx.send(line);
        }
    }

    /// The next event, waiting at most `wait`.
    pub(super) fn next(&self, wait: Duration) -> Event {
        match self.from_child.recv_timeout(wait) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => Event::TimedOut,
            Err(RecvTimeoutError::Disconnected) => Event::Ended,
        }
    }

    /// How the child ended, once it closed its pipe: given a moment to exit,
    /// then killed.
    pub(super) fn exit_status(&mut self) -> Option<ExitStatus> {
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until {
            match self.process.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(_) => return None,
            }
        }
        let _ = self.process.kill();
        self.process.wait().ok()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.to_child = None;
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn write_lines(mut stdin: impl Write, lines: Receiver<Vec<u8>>) {
    for line in lines {
        if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
            return;
        }
    }
}

fn read_lines(stdout: impl Read, max_output: u64, events: Sender<Event>) {
    let mut reader = BufReader::new(stdout.take(max_output));
    loop {
        let mut line = Vec::new();
        let event = match reader.read_until(b'\n', &mut line) {
            Ok(n) if n > 0 && line.last() == Some(&b'\n') => {
                line.pop();
                Event::Line(line)
            }
            // Nothing more, or a line cut short: by the cap, or by the child's end.
            Ok(_) if reader.get_ref().limit() == 0 => Event::TooMuch,
            Ok(_) | Err(_) => Event::Ended,
        };
        let last = !matches!(event, Event::Line(_));
        if events.send(event).is_err() || last {
            return;
        }
    }
}
