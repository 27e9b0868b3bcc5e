//! The two views of the host a state function gets: [`HostRead`] while checking
//! (every run), [`HostWrite`] while applying (never in test mode).
//!
//! Paths go through [`HostRead::path`], which puts them under the context's
//! root: `/` on a real host, a throwaway directory for tests and swarm mode.
// One of the files that implement HostWrite, so allowed what clippy.toml
// forbids the rest of `state/`.
#![allow(clippy::disallowed_methods)]
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};

use common::data::{Map, Value};

use super::file::accumulated::Accumulators;

use super::source_hash::SourceSum;
use super::StateError;

/// Where `salt://` sources and templates come from (local file_roots in
/// masterless mode; the master's content-addressed cache later).
pub trait Sources: Send + Sync {
    /// The bytes of `salt://path` (or a local absolute path).
    fn fetch(&self, url: &str) -> Result<Vec<u8>, StateError>;
    /// The bytes of an `http://`/`https://` URL (`crate::remote`): at most
    /// one download per run, cached on the minion by SHA-256; `expected`
    /// (the state's `source_hash`) lets a cached copy answer without a
    /// download. The caller compares the bytes with `expected`.
    fn fetch_remote(&self, url: &str, expected: Option<&SourceSum>) -> Result<Vec<u8>, StateError> {
        let _ = expected;
        Err(StateError::host(format!(
            "Error: http(s) sources are not available here (reading {})",
            crate::remote::redact(url)
        )))
    }
    /// Renders a source as a Jinja template with extra context (`file.managed
    /// template: jinja`), using the minion's grains and pillar.
    fn render(&self, url: &str, context: &Map<String, Value>) -> Result<String, StateError>;
    /// Files under a `salt://dir` (relative paths), for `file.recurse`.
    fn list(&self, url: &str) -> Result<Vec<String>, StateError>;
    /// Directories under a `salt://dir` (relative paths, empty ones
    /// included), for `file.recurse` with `include_empty`; an error when the
    /// directory itself does not exist. The default derives them from
    /// [`list`](Self::list), so it cannot see empty directories.
    fn list_dirs(&self, url: &str) -> Result<Vec<String>, StateError> {
        let files = self.list(url)?;
        if files.is_empty() {
            return Err(StateError::host(format!("{url} is not a directory")));
        }
        let mut dirs: Vec<String> = files
            .iter()
            .flat_map(|f| {
                let parts: Vec<&str> = f.split('/').collect();
                (1..parts.len())
                    .map(move |n| parts[..n].join("/"))
                    .collect::<Vec<_>>()
            })
            .collect();
        dirs.sort();
        dirs.dedup();
        Ok(dirs)
    }
}

/// Output of a command.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CmdRun {
    pub retcode: i32,
    pub stdout: String,
    pub stderr: String,
    pub pid: u32,
}

/// Read-only access to the host.
#[derive(Clone)]
pub struct HostRead {
    root: PathBuf,
    sources: Arc<dyn Sources>,
    pillar: Arc<Value>,
    /// `file.accumulated` text of the current run (fresh per `Runner`).
    accumulators: Arc<Mutex<Accumulators>>,
}

impl HostRead {
    pub fn new(root: PathBuf, sources: Arc<dyn Sources>) -> Self {
        HostRead {
            root,
            sources,
            pillar: Arc::new(Value::Null),
            accumulators: Arc::default(),
        }
    }

    /// The same host for a new run: no accumulated text from another run.
    pub(crate) fn for_a_run(mut self) -> Self {
        self.accumulators = Arc::default();
        self
    }

    /// This run's `file.accumulated` text.
    pub(crate) fn accumulators(&self) -> MutexGuard<'_, Accumulators> {
        self.accumulators.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The minion's pillar, for arguments that name pillar keys
    /// (`file.managed contents_pillar`, `file.serialize dataset_pillar`).
    pub fn with_pillar(mut self, pillar: Value) -> Self {
        self.pillar = Arc::new(pillar);
        self
    }

    /// The minion's pillar (`Null` when none was given).
    pub fn pillar(&self) -> &Value {
        &self.pillar
    }

    /// The root everything is applied under (`/` on a real host).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` (absolute, as the state tree names it) under the root.
    pub fn path(&self, path: &str) -> Result<PathBuf, StateError> {
        if !path.starts_with('/') {
            return Err(StateError::args(format!("path must be absolute: {path:?}")));
        }
        if path.contains('\0') {
            return Err(StateError::args("path contains a NUL byte"));
        }
        if self.root == Path::new("/") {
            return Ok(PathBuf::from(path));
        }
        // Under another root, `..` would climb out of it (at `/` it cannot).
        // The root is a directory, not a chroot: symlinks inside it are the
        // tree's own business.
        if path.split('/').any(|c| c == "..") {
            return Err(StateError::args(format!(
                "path {path:?} has a '..' component, which would leave the state root {}",
                self.root.display()
            )));
        }
        Ok(self.root.join(path.trim_start_matches('/')))
    }

    pub fn sources(&self) -> &dyn Sources {
        &*self.sources
    }

    /// Runs a command that only reads (e.g. `dpkg-query`, `systemctl show`).
    /// argv, never a shell string.
    pub fn query(&self, argv: &[&str]) -> Result<CmdRun, StateError> {
        run_argv(argv, &[], None)
    }

    /// Runs a command that only reads, with an [`Exec`]'s environment,
    /// directory and stdin (`pip install --dry-run` in a bin_env's
    /// environment, a salt:// requirements file on its stdin).
    pub fn query_exec(&self, spec: &Exec) -> Result<Exited, StateError> {
        exec(spec)
    }

    /// [`query`](Self::query) with variables set (e.g. a state root's `GEM_HOME`).
    pub fn query_env(&self, argv: &[&str], env: &[(&str, &str)]) -> Result<CmdRun, StateError> {
        run_argv(argv, env, None)
    }

    /// [`query_env`](Self::query_env) in a directory (`npm list` of a project).
    pub fn query_in(
        &self,
        argv: &[&str],
        env: &[(&str, &str)],
        cwd: &Path,
    ) -> Result<CmdRun, StateError> {
        run_argv(argv, env, Some(cwd))
    }
}

/// Write access: only the executor makes one, and only outside test mode.
pub struct HostWrite {
    read: HostRead,
}

impl HostWrite {
    /// Only for the executor (crate-private), so state functions cannot make one.
    #[allow(dead_code)] // the executor is being written
    pub(crate) fn new(read: HostRead) -> Self {
        HostWrite { read }
    }

    pub fn read(&self) -> &HostRead {
        &self.read
    }

    /// Runs a command that changes the host. argv, never a shell string.
    pub fn run(
        &self,
        argv: &[&str],
        env: &[(&str, &str)],
        cwd: Option<&Path>,
    ) -> Result<CmdRun, StateError> {
        run_argv(argv, env, cwd)
    }

    /// Runs an operator's command line through a shell, as Salt's cmd states do:
    /// the string comes from the state tree, never from the network.
    pub fn run_shell(
        &self,
        shell: &str,
        command: &str,
        env: &[(&str, &str)],
        cwd: Option<&Path>,
    ) -> Result<CmdRun, StateError> {
        run_argv(&[shell, "-c", command], env, cwd)
    }
}

impl std::ops::Deref for HostWrite {
    type Target = HostRead;
    fn deref(&self) -> &HostRead {
        &self.read
    }
}

fn run_argv(argv: &[&str], env: &[(&str, &str)], cwd: Option<&Path>) -> Result<CmdRun, StateError> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| StateError::args("empty command"))?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::null())
        .envs(env.iter().copied());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| StateError::host(format!("cannot run {prog}: {e}")))?;
    let pid = child.id();
    if let Err(e) = super::JobControl::started(pid as i32) {
        let _ = child.wait();
        return Err(e);
    }
    let _ended = Ended(pid as i32);
    let out = child
        .wait_with_output()
        .map_err(|e| StateError::host(format!("{prog}: {e}")))?;
    Ok(CmdRun {
        retcode: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        pid,
    })
}

/// Unregisters a command from the thread's job once it is reaped, however
/// the function that ran it returns.
struct Ended(i32);

impl Drop for Ended {
    fn drop(&mut self) {
        super::JobControl::ended(self.0);
    }
}

/// A command with the knobs Salt's `cmd` states and the account tools need:
/// stdin, a timeout, a umask, a cleared environment. Built by a state's
/// apply and run with [`HostWrite::exec`].
#[derive(Debug, Clone, Default)]
pub struct Exec {
    pub argv: Vec<String>,
    /// Set on top of the inherited environment (or alone, with `clear_env`).
    pub env: Vec<(String, String)>,
    /// Taken out of the inherited environment (e.g. `NOTIFY_SOCKET`).
    pub env_remove: Vec<String>,
    pub clear_env: bool,
    pub cwd: Option<PathBuf>,
    pub stdin: Option<Vec<u8>>,
    /// Past this the whole process group is killed.
    pub timeout: Option<std::time::Duration>,
    pub umask: Option<u32>,
}

impl Exec {
    pub fn new<S: AsRef<str>>(argv: &[S]) -> Self {
        Exec {
            argv: argv.iter().map(|a| a.as_ref().to_string()).collect(),
            ..Exec::default()
        }
    }
}

/// How an [`Exec`] ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exited {
    pub run: CmdRun,
    /// Killed because it ran past its timeout.
    pub timed_out: bool,
}

impl HostWrite {
    /// Runs an [`Exec`]: argv, never a shell string (a state that wants a
    /// shell puts it in argv, as `run_shell` does).
    pub fn exec(&self, spec: &Exec) -> Result<Exited, StateError> {
        exec(spec)
    }
}

fn exec(spec: &Exec) -> Result<Exited, StateError> {
    use std::io::{Read, Write};
    use std::os::unix::process::CommandExt;

    let (prog, args) = spec
        .argv
        .split_first()
        .ok_or_else(|| StateError::args("empty command"))?;
    let mut cmd = Command::new(prog);
    cmd.args(args);
    if spec.clear_env {
        cmd.env_clear();
    }
    for key in &spec.env_remove {
        cmd.env_remove(key);
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = &spec.cwd {
        cmd.current_dir(dir);
    }
    // Its own process group, so a timeout kills what the shell started too.
    cmd.process_group(0);
    if let Some(mask) = spec.umask {
        let mask = mask as libc::mode_t;
        // SAFETY: umask(2) is async-signal-safe and touches no memory.
        unsafe {
            cmd.pre_exec(move || {
                libc::umask(mask);
                Ok(())
            });
        }
    }
    cmd.stdin(if spec.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| StateError::host(format!("cannot run {prog}: {e}")))?;
    let pid = child.id();
    // Its own group: a kill of the job reaches what the command started.
    if let Err(e) = super::JobControl::started(-(pid as i32)) {
        let _ = child.wait();
        return Err(e);
    }
    let _ended = Ended(-(pid as i32));

    // Pipes are drained on their own threads so a chatty command never blocks
    // on a full pipe while we wait for it.
    let feeder = match (child.stdin.take(), spec.stdin.clone()) {
        (Some(mut pipe), Some(bytes)) => Some(std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })),
        _ => None,
    };
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );

    let mut timed_out = false;
    let status = match spec.timeout {
        None => child.wait(),
        Some(limit) => {
            let deadline = std::time::Instant::now() + limit;
            let mut pause = std::time::Duration::from_millis(1);
            loop {
                if let Some(status) = child
                    .try_wait()
                    .map_err(|e| StateError::host(e.to_string()))?
                {
                    break Ok(status);
                }
                let now = std::time::Instant::now();
                if now >= deadline {
                    timed_out = true;
                    // The child is not reaped yet, so its pid (= its group id)
                    // cannot have been reused.
                    // SAFETY: kill(2) with a negative pid signals that group only.
                    unsafe {
                        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
                    }
                    break child.wait();
                }
                std::thread::sleep(pause.min(deadline - now));
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
        }
    }
    .map_err(|e| StateError::host(format!("{prog}: {e}")))?;
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    // Python reports death by signal N as -N; Salt's output shows that.
    let retcode = {
        use std::os::unix::process::ExitStatusExt;
        status
            .code()
            .unwrap_or_else(|| -status.signal().unwrap_or(1))
    };
    Ok(Exited {
        run: CmdRun {
            retcode,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            pid,
        },
        timed_out,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::TestHost;

    #[test]
    fn paths_stay_under_a_state_root() {
        let t = TestHost::new();
        assert_eq!(t.host.path("/etc/x").unwrap(), t.root.path().join("etc/x"));
        for bad in ["/../etc/shadow", "/etc/../../x", "/a/..", "etc/x", "/a\0b"] {
            let e = t.host.path(bad).unwrap_err().to_string();
            assert!(!e.contains('\0'), "{e:?}");
        }
        let e = t.host.path("/../../etc/shadow").unwrap_err().to_string();
        assert!(
            e.contains("\"/../../etc/shadow\"") && e.contains("state root"),
            "{e}"
        );
    }
}
