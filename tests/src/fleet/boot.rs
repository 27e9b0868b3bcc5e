//! Booting a container (its slot, nspawn, init, the private network and apt's
//! proxy) and taking it down again.
use std::io::{BufRead, BufReader, Read};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::process::{
    children_of, clip_tail, parent_of, run_output, signal, spawn_from_long_lived_thread, Input,
};
use super::proxy::Proxy;
use super::{
    find_tool, rootfs, skip_reason, tool, Container, FleetError, Options, PrivateNet, Slot,
    CONSOLE_KEEP, SHUTDOWN_TIMEOUT,
};

impl Container {
    /// Boots a container whose hostname is `name`, sharing the host's network;
    /// returns once `systemctl is-system-running` says `running` or `degraded`.
    pub fn boot(name: &str) -> Result<Container, FleetError> {
        Container::boot_with(name, &Options::default())
    }

    /// [`Container::boot`] with options (a private network, another timeout).
    pub fn boot_with(name: &str, opts: &Options) -> Result<Container, FleetError> {
        if let Some(reason) = skip_reason() {
            return Err(FleetError::Unavailable(reason));
        }
        if name.is_empty()
            || name.len() > 63
            || name.starts_with('-')
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(FleetError::Boot(format!(
                "{name:?} is not a valid hostname (letters, digits, '-', '.'; at most 63)"
            )));
        }
        let started = Instant::now();
        let deadline = started + opts.boot_timeout;
        let slot = Slot::claim()?;
        let machine = format!("brine-{}-{}", slot.0, std::process::id());
        let net = opts.private_network.then(|| {
            let (a, b) = (slot.0 / 64, (slot.0 % 64) * 4);
            PrivateNet {
                host_if: format!("vb-brine{}", slot.0),
                host_ip: Ipv4Addr::new(10, 213, a as u8, b as u8 + 1),
                ip: Ipv4Addr::new(10, 213, a as u8, b as u8 + 2),
                proxy: None,
            }
        });

        let mut cmd = match find_tool("setpriv") {
            // The nspawn gets SIGTERM (an orderly poweroff of its container) when the
            // thread that started it ends, which is the spawner thread, i.e. when this
            // process ends however it ends.
            Some(setpriv) => {
                let mut c = Command::new(setpriv);
                c.args(["--pdeathsig", "TERM", "--"])
                    .arg(tool("systemd-nspawn"));
                c
            }
            None => Command::new(tool("systemd-nspawn")),
        };
        cmd.arg("--directory")
            .arg(rootfs())
            .args([
                "--boot",
                "--volatile=overlay",
                "--register=no",
                "--keep-unit",
                "--console=read-only",
            ])
            .arg(format!("--machine={machine}"))
            .arg(format!("--hostname={name}"));
        if let Some(net) = &net {
            // No resolv.conf (the rootfs has none): the host's resolver is out of
            // reach, and with none glibc fails at once instead of timing out.
            cmd.arg(format!("--network-veth-extra={}:host0", net.host_if))
                .arg("--resolv-conf=off");
        }
        cmd.env("TERM", "dumb")
            .env("SYSTEMD_COLORS", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut nspawn = spawn_from_long_lived_thread(cmd)
            .map_err(|e| FleetError::Boot(format!("cannot start systemd-nspawn: {e}")))?;
        let console = Arc::new(Mutex::new(String::new()));
        for pipe in [
            nspawn
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            nspawn
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let console = Arc::clone(&console);
            thread::spawn(move || {
                for line in BufReader::new(pipe).split(b'\n').map_while(Result::ok) {
                    let mut c = console.lock().unwrap_or_else(|p| p.into_inner());
                    c.push_str(&String::from_utf8_lossy(&line));
                    c.push('\n');
                    if c.len() > 2 * CONSOLE_KEEP {
                        let cut = c.len() - CONSOLE_KEEP;
                        let cut = (cut..c.len()).find(|&i| c.is_char_boundary(i)).unwrap_or(0);
                        c.drain(..cut);
                    }
                }
            });
        }

        // From here on, Drop cleans up whatever fails.
        let mut container = Container {
            name: name.to_owned(),
            machine,
            nspawn,
            pid: 0,
            slot,
            net,
            console,
            boot_time: Duration::ZERO,
        };
        container.pid = container.wait_for_init(deadline)?;
        if container.net.is_some() {
            container.setup_private_network()?;
        }
        container.wait_until_running(deadline)?;
        if container.net.is_some() {
            container.setup_apt_proxy()?;
        }
        container.boot_time = started.elapsed();
        Ok(container)
    }

    /// Waits for the container's init: the child of nspawn that is PID 1 of its own
    /// pid namespace and has become systemd.
    fn wait_for_init(&mut self, deadline: Instant) -> Result<u32, FleetError> {
        let nspawn = self.nspawn.id();
        loop {
            if let Ok(Some(status)) = self.nspawn.try_wait() {
                return Err(self.boot_error(&format!(
                    "systemd-nspawn exited ({status}) before the container's systemd started"
                )));
            }
            for pid in children_of(nspawn) {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let is_ns_init = status
                    .lines()
                    .find(|l| l.starts_with("NSpid:"))
                    .and_then(|l| l.split_whitespace().last())
                    == Some("1");
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if is_ns_init && matches!(comm.trim(), "systemd" | "init") {
                    return Ok(pid);
                }
            }
            if Instant::now() >= deadline {
                return Err(self.boot_error("the container's systemd did not start in time"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_until_running(&mut self, deadline: Instant) -> Result<(), FleetError> {
        let mut last = String::new();
        loop {
            if let Ok(Some(status)) = self.nspawn.try_wait() {
                return Err(
                    self.boot_error(&format!("systemd-nspawn exited ({status}) during boot"))
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let jobs = self.exec_timeout(
                    &["systemctl", "list-jobs", "--no-pager"],
                    Duration::from_secs(10),
                );
                return Err(self.boot_error(&format!(
                    "systemd did not finish booting in time; `systemctl is-system-running` said {last:?}; \
                     pending jobs:\n{}",
                    String::from_utf8_lossy(&jobs.stdout)
                )));
            }
            let out = self.exec_timeout(&["systemctl", "is-system-running", "--wait"], left);
            let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if state == "running" || state == "degraded" {
                return Ok(());
            }
            last = if state.is_empty() {
                String::from_utf8_lossy(&out.stderr).trim().to_owned()
            } else {
                state
            };
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn setup_private_network(&mut self) -> Result<(), FleetError> {
        let net = self.net.as_ref().expect("private network");
        let (host_if, host_ip, ip) = (net.host_if.clone(), net.host_ip, net.ip);
        let ip_tool = tool("ip");
        let run_ip = |netns_of: Option<u32>, args: &[&str]| -> Result<(), FleetError> {
            let mut cmd = match netns_of {
                Some(pid) => {
                    let mut c = Command::new(tool("nsenter"));
                    c.arg("--target")
                        .arg(pid.to_string())
                        .args(["--net", "--"])
                        .arg(&ip_tool);
                    c
                }
                None => Command::new(&ip_tool),
            };
            cmd.args(args);
            let out = run_output(cmd, Input::None, Duration::from_secs(30));
            if out.status.success() {
                Ok(())
            } else {
                Err(FleetError::Io(format!(
                    "private network of {}: `ip {}` failed ({}): {}",
                    self.name,
                    args.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )))
            }
        };
        let (host_cidr, cidr, gw) = (
            format!("{host_ip}/30"),
            format!("{ip}/30"),
            host_ip.to_string(),
        );
        run_ip(None, &["addr", "add", &host_cidr, "dev", &host_if])?;
        run_ip(None, &["link", "set", &host_if, "up"])?;
        let pid = Some(self.pid);
        run_ip(pid, &["link", "set", "lo", "up"])?;
        run_ip(pid, &["addr", "add", &cidr, "dev", "host0"])?;
        run_ip(pid, &["link", "set", "host0", "up"])?;
        run_ip(pid, &["route", "add", "default", "via", &gw])?;
        let proxy = Proxy::start(host_ip).map_err(|e| {
            FleetError::Io(format!(
                "private network of {}: apt proxy on {host_ip}: {e}",
                self.name
            ))
        })?;
        self.net.as_mut().expect("private network").proxy = Some(proxy);
        Ok(())
    }

    /// Points apt inside at the harness's proxy (this file sorts after the host's
    /// settings copied into the rootfs, so it wins).
    fn setup_apt_proxy(&self) -> Result<(), FleetError> {
        let net = self.net.as_ref().expect("private network");
        let port = net.proxy.as_ref().map_or(0, |p| p.port);
        let conf = format!(
            "// Written by the fleet harness: this container has no route out but to the host.\n\
             Acquire::http::Proxy \"http://{h}:{port}/\";\n\
             Acquire::https::Proxy \"http://{h}:{port}/\";\n\
             Acquire::http::Pipeline-Depth \"0\";\n",
            h = net.host_ip
        );
        self.write_file("/etc/apt/apt.conf.d/99zz-brine-fleet-proxy", conf, 0o644)
    }

    fn boot_error(&self, what: &str) -> FleetError {
        FleetError::Boot(format!(
            "{} ({}): {what}\n--- console (tail) ---\n{}",
            self.name,
            self.machine,
            clip_tail(&self.console(), 6000)
        ))
    }

    /// Orderly poweroff (SIGTERM to nspawn makes it ask the container's systemd to
    /// power off), then SIGKILL after [`SHUTDOWN_TIMEOUT`]; waits for nspawn to exit.
    pub(super) fn teardown(&mut self) {
        if matches!(self.nspawn.try_wait(), Ok(Some(_))) {
            self.release_network();
            return;
        }
        let nspawn = self.nspawn.id();
        signal(nspawn, "TERM");
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.nspawn.try_wait(), Ok(Some(_)) | Err(_)) {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        if matches!(self.nspawn.try_wait(), Ok(None)) {
            eprintln!(
                "fleet: {} did not power off within {SHUTDOWN_TIMEOUT:?}; killing it",
                self.name
            );
            // Killing the namespace's PID 1 kills everything in it; check it still is
            // nspawn's child first (nspawn is alive and unreaped, so its pid is ours).
            if self.pid != 0 && parent_of(self.pid) == Some(nspawn) {
                signal(self.pid, "KILL");
            }
            let _ = self.nspawn.kill();
        }
        let _ = self.nspawn.wait();
        self.release_network();
    }

    /// Kills the container at once, as pulling its power would: SIGKILL to its
    /// PID 1 takes everything inside with it, nothing is flushed or shut down.
    /// Waits until nspawn has exited; dropping the container afterwards only
    /// releases what the harness holds for it.
    pub fn kill(&mut self) {
        if matches!(self.nspawn.try_wait(), Ok(None)) {
            let nspawn = self.nspawn.id();
            // Still nspawn's child, so the pid is the container's PID 1 (nspawn is
            // alive and unreaped).
            if self.pid != 0 && parent_of(self.pid) == Some(nspawn) {
                signal(self.pid, "KILL");
            }
            let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
            while Instant::now() < deadline && matches!(self.nspawn.try_wait(), Ok(None)) {
                thread::sleep(Duration::from_millis(20));
            }
            if matches!(self.nspawn.try_wait(), Ok(None)) {
                let _ = self.nspawn.kill();
            }
            let _ = self.nspawn.wait();
        }
        self.release_network();
    }

    /// Stops the apt proxy and makes sure the veth pair is gone.
    fn release_network(&mut self) {
        if let Some(net) = &mut self.net {
            if let Some(proxy) = net.proxy.take() {
                proxy.stop();
            }
            // The kernel removes the veth pair with the namespace; make sure.
            if Path::new("/sys/class/net").join(&net.host_if).exists() {
                let _ = Command::new(tool("ip"))
                    .args(["link", "del", &net.host_if])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}
