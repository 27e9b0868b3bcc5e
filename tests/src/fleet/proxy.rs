//! The HTTP proxy a private container's apt goes through.
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Duration;

/// A minimal HTTP forward proxy on the host end of a private container's veth, so
/// apt inside reaches the mirror: absolute-form requests are forwarded one per
/// connection (`Connection: close`), CONNECT is tunnelled; through the host's own
/// proxy when it has one (`http_proxy` or apt's `Acquire::http::Proxy`).
pub(super) struct Proxy {
    pub(super) port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Proxy {
    pub(super) fn start(addr: Ipv4Addr) -> io::Result<Proxy> {
        let listener = TcpListener::bind((addr, 0))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream_proxy();
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name(format!("fleet-proxy-{addr}"))
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let upstream = upstream.clone();
                            thread::spawn(move || {
                                let _ = proxy_connection(client, upstream.as_deref());
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            thread::sleep(Duration::from_millis(25));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(25)),
                    }
                }
            })?;
        Ok(Proxy {
            port,
            stop,
            thread: Some(thread),
        })
    }

    pub(super) fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `host:port` of the host's HTTP proxy, if it has one.
fn upstream_proxy() -> Option<String> {
    static UPSTREAM: OnceLock<Option<String>> = OnceLock::new();
    UPSTREAM
        .get_or_init(|| {
            let from_env = ["http_proxy", "HTTP_PROXY"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()));
            let url = from_env.or_else(|| {
                let out = Command::new("apt-config")
                    .args(["shell", "P", "Acquire::http::Proxy"])
                    .stderr(Stdio::null())
                    .output()
                    .ok()?;
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let v = text
                    .trim()
                    .strip_prefix("P=")?
                    .trim_matches('\'')
                    .to_owned();
                (!v.is_empty() && v != "DIRECT").then_some(v)
            })?;
            let hostport = url.split("://").last()?.split('/').next()?;
            let hostport = hostport.rsplit('@').next()?;
            Some(if hostport.contains(':') {
                hostport.to_owned()
            } else {
                format!("{hostport}:80")
            })
        })
        .clone()
}

fn proxy_connection(mut client: TcpStream, upstream: Option<&str>) -> io::Result<()> {
    let idle = Some(Duration::from_secs(120));
    client.set_read_timeout(idle)?;
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(io::Error::other("request head too long"));
        }
        let mut chunk = [0u8; 8192];
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let rest = buf[head_end..].to_vec();
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split(' ');
    let (method, target, version) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("HTTP/1.1"),
    );
    let bad = |client: &mut TcpStream, why: &str| -> io::Result<()> {
        let body = format!("fleet proxy: {why}\n");
        write!(
            client,
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let connect = |hostport: &str| -> io::Result<TcpStream> {
        let addrs: Vec<_> = hostport.to_socket_addrs()?.collect();
        let mut last = io::Error::other(format!("{hostport}: no address"));
        for a in addrs {
            match TcpStream::connect_timeout(&a, Duration::from_secs(30)) {
                Ok(s) => {
                    s.set_read_timeout(idle)?;
                    return Ok(s);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    };

    let mut server;
    if method.eq_ignore_ascii_case("CONNECT") {
        if let Some(up) = upstream {
            server = match connect(up) {
                Ok(s) => s,
                Err(e) => return bad(&mut client, &format!("upstream proxy {up}: {e}")),
            };
            server.write_all(&buf)?;
        } else {
            server = match connect(target) {
                Ok(s) => s,
                Err(e) => return bad(&mut client, &format!("{target}: {e}")),
            };
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            server.write_all(&rest)?;
        }
    } else {
        let Some(after) = target.strip_prefix("http://") else {
            return bad(&mut client, "only absolute http:// requests and CONNECT");
        };
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, "/"),
        };
        let hostport = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let mut out = match upstream {
            Some(_) => format!("{method} {target} {version}\r\n"),
            None => format!("{method} {path} {version}\r\n"),
        };
        for line in lines.filter(|l| !l.is_empty()) {
            let name = line.split(':').next().unwrap_or_default().trim();
            if ["connection", "proxy-connection", "keep-alive"]
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
            {
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str("Connection: close\r\n\r\n");
        let dest = upstream.unwrap_or(&hostport);
        server = match connect(dest) {
            Ok(s) => s,
            Err(e) => return bad(&mut client, &format!("{dest}: {e}")),
        };
        server.write_all(out.as_bytes())?;
        server.write_all(&rest)?;
    }
    // Shovel both ways until either side is done.
    let (mut c2, mut s2) = (client.try_clone()?, server.try_clone()?);
    let up = thread::spawn(move || {
        let _ = io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut server, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
    let _ = up.join();
    Ok(())
}
