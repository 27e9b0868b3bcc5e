//! What a booted container answers and runs: its names and addresses, its link,
//! commands inside it, files copied in and out.
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::process::{failed_output, run_output, Input};
use super::{
    tool, Container, FleetError, CONTAINER_ENV, EXEC_TIMEOUT, PORTS_PER_CONTAINER, PORT_BASE,
};

impl Container {
    /// The hostname given to [`Container::boot`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The nspawn machine name (unique on the host: `brine-<slot>-<test pid>`).
    pub fn machine(&self) -> &str {
        &self.machine
    }

    /// The host's pid of the container's PID 1 (its systemd).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The host's pid of the systemd-nspawn process.
    pub fn nspawn_pid(&self) -> u32 {
        self.nspawn.id()
    }

    /// This container's host-wide slot number (unique among running containers).
    pub fn slot(&self) -> u16 {
        self.slot.0
    }

    /// A port no other container uses: `PORT_BASE + slot * PORTS_PER_CONTAINER + n`,
    /// for services that would otherwise clash on the shared host network (nginx on
    /// `port(0)` instead of 80). Panics unless `n < PORTS_PER_CONTAINER`.
    pub fn port(&self, n: u16) -> u16 {
        assert!(
            n < PORTS_PER_CONTAINER,
            "port({n}): at most {PORTS_PER_CONTAINER} per container"
        );
        PORT_BASE + self.slot.0 * PORTS_PER_CONTAINER + n
    }

    /// Whether the container has its own network namespace.
    pub fn private_network(&self) -> bool {
        self.net.is_some()
    }

    /// The container's address as the host reaches it: its veth address with a
    /// private network, else 127.0.0.1.
    pub fn address(&self) -> Ipv4Addr {
        self.net.as_ref().map_or(Ipv4Addr::LOCALHOST, |n| n.ip)
    }

    /// The host's address as the container reaches it (where a master on the host
    /// listens): the host end of the veth with a private network, else 127.0.0.1.
    pub fn host_address(&self) -> Ipv4Addr {
        self.net.as_ref().map_or(Ipv4Addr::LOCALHOST, |n| n.host_ip)
    }

    /// The host-side veth interface with a private network.
    pub fn host_interface(&self) -> Option<&str> {
        self.net.as_ref().map(|n| n.host_if.as_str())
    }

    /// Brings the host end of a private container's veth down (`false`: the
    /// container is cut off, as by a pulled cable; nothing inside notices but
    /// lost packets) or up again.
    pub fn set_link(&self, up: bool) -> Result<(), FleetError> {
        let net = self.net.as_ref().ok_or_else(|| {
            FleetError::Io(format!("{} has no private network to cut", self.name))
        })?;
        let state = if up { "up" } else { "down" };
        let mut cmd = Command::new(tool("ip"));
        cmd.args(["link", "set", &net.host_if, state]);
        let out = run_output(cmd, Input::None, Duration::from_secs(30));
        if out.status.success() {
            Ok(())
        } else {
            Err(FleetError::Io(format!(
                "`ip link set {} {state}` failed ({}): {}",
                net.host_if,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// From the start of nspawn until systemd inside said running/degraded.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    /// What nspawn and the container's console printed so far (the tail).
    pub fn console(&self) -> String {
        self.console
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A command that runs `program` inside the container (through `nsenter -a`, with
    /// [`CONTAINER_ENV`] and `/` as working directory); add arguments, environment
    /// (`.env`) or stdin as with any `Command`. Note that killing it kills `nsenter`,
    /// not necessarily the program inside.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(tool("nsenter"));
        cmd.arg("--target")
            .arg(self.pid.to_string())
            .arg("--all")
            .arg("--")
            .arg(program)
            .env_clear()
            .envs(CONTAINER_ENV.iter().copied())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `argv` inside the container and waits (at most [`EXEC_TIMEOUT`]; then the
    /// command is killed and its stderr says so). A command that cannot be started
    /// gives exit status 127 with the reason on stderr.
    pub fn exec(&self, argv: &[&str]) -> Output {
        self.exec_timeout(argv, EXEC_TIMEOUT)
    }

    /// [`Container::exec`] with another time limit.
    pub fn exec_timeout(&self, argv: &[&str], timeout: Duration) -> Output {
        self.exec_with(argv, Input::None, timeout)
    }

    /// [`Container::exec`] with `input` on the command's stdin.
    pub fn exec_input(&self, argv: &[&str], input: &[u8]) -> Output {
        self.exec_with(argv, Input::Bytes(input.to_vec()), EXEC_TIMEOUT)
    }

    /// Runs `argv` inside; its stdout when it exits 0, else an error with its exit
    /// status, stderr and stdout.
    pub fn exec_ok(&self, argv: &[&str]) -> Result<String, FleetError> {
        let out = self.exec(argv);
        self.check(argv, out)
    }

    /// `sh -c script` inside, as [`Container::exec_ok`].
    pub fn sh(&self, script: &str) -> Result<String, FleetError> {
        self.exec_ok(&["sh", "-c", script])
    }

    /// [`Container::sh`] for a step a test cannot go on without: its stdout,
    /// trimmed; a failure panics with the exit status and output.
    pub fn run(&self, script: &str) -> String {
        self.sh(script)
            .unwrap_or_else(|e| panic!("{e}"))
            .trim()
            .to_string()
    }

    /// Copies the host file or directory `host_path` to `container_path` (absolute)
    /// inside. A file becomes exactly `container_path` (parents created, mode kept,
    /// replaced atomically, so a running binary can be replaced); a directory's
    /// contents are copied into `container_path` (created if needed), files owned
    /// by root.
    pub fn copy_in(
        &self,
        host_path: impl AsRef<Path>,
        container_path: impl AsRef<Path>,
    ) -> Result<(), FleetError> {
        let (host_path, dest) = (host_path.as_ref(), container_path.as_ref());
        let dest_str = dest
            .to_str()
            .filter(|d| d.starts_with('/'))
            .ok_or_else(|| FleetError::Io(format!("copy_in: {dest:?} is not an absolute path")))?;
        let meta = std::fs::metadata(host_path)
            .map_err(|e| FleetError::Io(format!("copy_in: {}: {e}", host_path.display())))?;
        if meta.is_dir() {
            let mut tar = Command::new(tool("tar"))
                .arg("-C")
                .arg(host_path)
                .args(["-cf", "-", "."])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| FleetError::Io(format!("copy_in: cannot run tar: {e}")))?;
            let stream = tar.stdout.take().expect("piped");
            let argv = [
                "sh",
                "-c",
                r#"set -e; mkdir -p "$1"; tar -C "$1" --no-same-owner --no-overwrite-dir -xf -"#,
                "sh",
                dest_str,
            ];
            let out = self.exec_with(&argv, Input::Stdio(stream.into()), EXEC_TIMEOUT);
            let tar_out = tar
                .wait_with_output()
                .map_err(|e| FleetError::Io(format!("copy_in: tar: {e}")))?;
            if !tar_out.status.success() {
                return Err(FleetError::Io(format!(
                    "copy_in: tar -C {} failed ({}): {}",
                    host_path.display(),
                    tar_out.status,
                    String::from_utf8_lossy(&tar_out.stderr)
                )));
            }
            self.check(&argv, out).map(drop)
        } else {
            let file = std::fs::File::open(host_path)
                .map_err(|e| FleetError::Io(format!("copy_in: {}: {e}", host_path.display())))?;
            let mode = format!("{:o}", meta.permissions().mode() & 0o7777);
            self.write_with(dest_str, Input::Stdio(file.into()), &mode)
        }
    }

    /// Writes `contents` to the file `container_path` inside (parents created,
    /// replaced atomically) with `mode` (e.g. `0o644`).
    pub fn write_file(
        &self,
        container_path: &str,
        contents: impl AsRef<[u8]>,
        mode: u32,
    ) -> Result<(), FleetError> {
        if !container_path.starts_with('/') {
            return Err(FleetError::Io(format!(
                "write_file: {container_path:?} is not an absolute path"
            )));
        }
        self.write_with(
            container_path,
            Input::Bytes(contents.as_ref().to_vec()),
            &format!("{mode:o}"),
        )
    }

    /// The contents of the file `container_path` inside.
    pub fn read_file(&self, container_path: &str) -> Result<Vec<u8>, FleetError> {
        let argv = ["cat", "--", container_path];
        let out = self.exec(&argv);
        if out.status.success() {
            Ok(out.stdout)
        } else {
            self.check(&argv, out).map(String::into_bytes)
        }
    }

    fn write_with(&self, dest: &str, input: Input, mode: &str) -> Result<(), FleetError> {
        let argv = [
            "sh",
            "-c",
            r#"set -e; mkdir -p "$(dirname "$1")"; t="$1.brine-copy.$$"; cat >"$t"; chmod "$2" "$t"; mv -fT "$t" "$1""#,
            "sh",
            dest,
            mode,
        ];
        let out = self.exec_with(&argv, input, EXEC_TIMEOUT);
        self.check(&argv, out).map(drop)
    }

    fn check(&self, argv: &[&str], out: Output) -> Result<String, FleetError> {
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        Err(FleetError::Command {
            container: self.name.clone(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn exec_with(&self, argv: &[&str], input: Input, timeout: Duration) -> Output {
        let Some((program, args)) = argv.split_first() else {
            return failed_output("exec: empty argv".into());
        };
        let mut cmd = self.command(program);
        cmd.args(args);
        run_output(cmd, input, timeout)
    }
}
