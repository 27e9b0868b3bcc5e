//! Authenticated git remotes for tests, on loopback: smart HTTP behind TLS
//! and Basic auth (`git http-backend` as CGI under a small Python server,
//! with a throwaway CA made by `openssl`), and ssh (a real `sshd` with its
//! own config, host key and authorized_keys, serving `git-upload-pack`).
//! Each server runs in a process group of its own, killed whole when its
//! handle drops (also when the test fails), with its files in a temp dir.
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::daemons::wait_until;

/// Runs `program ARGS` in `dir`, which must succeed.
fn run_in(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kills a server's whole process group, then reaps it.
fn kill_group(child: &mut Child) {
    // SAFETY: kill(2) with a pid and a signal number; no memory involved.
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
    let _ = child.kill();
    let _ = child.wait();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Python side of [`HttpsGit`]: Basic auth in front of
/// `git http-backend`, over TLS; prints its port once it listens.
const SMART_HTTP: &str = r#"
import base64, http.server, os, ssl, subprocess, sys

root, user, password, cert, key = sys.argv[1:6]
expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def serve(self):
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.body()
        env = dict(
            os.environ,
            GIT_PROJECT_ROOT=root,
            GIT_HTTP_EXPORT_ALL="1",
            PATH_INFO=path,
            QUERY_STRING=query,
            REQUEST_METHOD=self.command,
            CONTENT_TYPE=self.headers.get("Content-Type", ""),
            CONTENT_LENGTH=str(len(body)),
            HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""),
            GIT_PROTOCOL=self.headers.get("Git-Protocol", ""),
            REMOTE_USER=user,
            REMOTE_ADDR=self.client_address[0],
        )
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True
        ).stdout
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, data = out.partition(sep)
        status, headers = 200, []
        for line in head.replace(b"\r\n", b"\n").split(b"\n"):
            name, _, value = line.decode().partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = serve
    do_POST = serve


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
server.socket = tls.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// Smart HTTP over TLS with Basic auth serving the repositories under a
/// directory as `https://127.0.0.1:PORT/NAME`. Its certificate (for IP
/// 127.0.0.1) is signed by a throwaway CA at [`HttpsGit::ca`], which no
/// system trusts.
pub struct HttpsGit {
    child: Child,
    pub port: u16,
    /// The CA certificate (PEM) the server's certificate is signed by.
    pub ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for HttpsGit {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

impl HttpsGit {
    pub fn url(&self, name: &str) -> String {
        format!("https://127.0.0.1:{}/{name}", self.port)
    }
}

/// Starts [`HttpsGit`] for the repositories under `base`, letting in
/// `user` with `password` only, and waits until it listens.
pub fn https_git(base: &Path, user: &str, password: &str) -> HttpsGit {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let mut ca_args = vec!["req", "-x509", "-nodes", "-days", "2"];
    ca_args.extend(ec);
    ca_args.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    ca_args.extend(["-subj", "/CN=Brine test CA"]);
    run_in(d, "openssl", &ca_args);
    let mut csr_args = vec!["req", "-new", "-nodes"];
    csr_args.extend(ec);
    csr_args.extend(["-keyout", "server.key", "-out", "server.csr"]);
    csr_args.extend(["-subj", "/CN=127.0.0.1"]);
    run_in(d, "openssl", &csr_args);
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run_in(
        d,
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
    std::fs::write(d.join("smart_http.py"), SMART_HTTP).unwrap();
    let mut child = Command::new("python3")
        .arg(d.join("smart_http.py"))
        .arg(base)
        .args([user, password])
        .arg(d.join("server.pem"))
        .arg(d.join("server.key"))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
    let port = match line.trim().parse() {
        Ok(p) => p,
        Err(_) => {
            kill_group(&mut child);
            panic!("the smart HTTP server did not start (said {line:?})");
        }
    };
    HttpsGit {
        child,
        port,
        ca: d.join("ca.pem"),
        _dir: dir,
    }
}

/// A key pair made by `ssh-keygen` (ed25519) at `dir/name` and
/// `dir/name.pub`, protected by `passphrase` if not empty.
pub fn ssh_key(dir: &Path, name: &str, passphrase: &str) -> (PathBuf, PathBuf) {
    run_in(
        dir,
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "brine-test",
            "-f",
            name,
        ],
    );
    (dir.join(name), dir.join(format!("{name}.pub")))
}

/// A real `sshd` on a loopback port, run by the test as a child process
/// (`-D -e -f`) with its own config, host key and authorized_keys, letting
/// in the current user with the keys authorized; `git-upload-pack` runs
/// through the user's shell as with any git server over ssh.
pub struct Sshd {
    child: Child,
    pub port: u16,
    /// The user sshd lets in (the one running the test).
    pub user: String,
    dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

impl Sshd {
    /// `ssh://USER@127.0.0.1:PORT/PATH`.
    pub fn url(&self, path: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        )
    }

    /// The host key as a known_hosts line for this server's address.
    pub fn known_hosts_line(&self) -> String {
        let public = std::fs::read_to_string(self.dir.path().join("host_key.pub")).unwrap();
        let mut fields = public.split_whitespace();
        let (kind, key) = (fields.next().unwrap(), fields.next().unwrap());
        format!("[127.0.0.1]:{} {kind} {key}\n", self.port)
    }

    /// The host key's fingerprint as `ssh-keygen -l` prints it
    /// (`SHA256:...`).
    pub fn host_key_fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(self.dir.path().join("host_key.pub"))
            .output()
            .expect("ssh-keygen -l");
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .nth(1)
            .expect("a fingerprint")
            .to_string()
    }

    /// What sshd wrote to its stderr (`-e`), for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

/// Starts [`Sshd`] letting in the public keys `authorized`, and waits
/// until it listens.
pub fn sshd(authorized: &[&Path]) -> Sshd {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_in(
        d,
        "ssh-keygen",
        &["-q", "-t", "ed25519", "-N", "", "-f", "host_key"],
    );
    let keys: String = authorized
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    std::fs::write(d.join("authorized_keys"), keys).unwrap();
    let port = free_port();
    std::fs::write(
        d.join("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
            d = d.display()
        ),
    )
    .unwrap();
    // sshd started as root wants its privilege separation directory,
    // which the package leaves to systemd-tmpfiles to make.
    // SAFETY: geteuid(2) takes nothing and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        std::fs::create_dir_all("/run/sshd").unwrap();
    }
    let user = String::from_utf8(
        Command::new("id")
            .arg("-un")
            .output()
            .expect("id -un")
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let log = std::fs::File::create(d.join("sshd.log")).unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("/usr/sbin/sshd (openssh-server)");
    let server = Sshd {
        child,
        port,
        user,
        dir,
    };
    wait_until(Duration::from_secs(10), "sshd to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    server
}
