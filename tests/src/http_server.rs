//! A local http(s) server for the tests of `http://`/`https://` sources
//! (the state engine's and the binaries'): fixed bytes per path, a count of
//! the requests each path got, stopped (its thread joined) when dropped, also
//! when the test fails. https uses a CA made here by `rcgen`; its PEM is
//! what a client is told to trust (explicitly, or through `SSL_CERT_FILE`).
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What a path answers.
#[derive(Clone)]
pub enum Reply {
    Bytes(Vec<u8>),
    /// `302` to this location.
    Redirect(String),
    Status(u16),
}

#[derive(Default)]
struct Shared {
    routes: HashMap<String, Reply>,
    hits: HashMap<String, usize>,
    fallback: Option<Vec<u8>>,
}

pub struct TestServer {
    pub base: String,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
    /// PEM of the CA that signed the https server's certificate.
    pub ca_pem: Option<String>,
}

impl TestServer {
    /// An http server with `body` at every path not routed otherwise.
    pub fn http_serving(body: &[u8]) -> TestServer {
        let s = TestServer::http();
        s.shared.lock().unwrap().fallback = Some(body.to_vec());
        s
    }

    pub fn http() -> TestServer {
        TestServer::start(None)
    }

    /// An https server for `localhost`, its certificate signed by a new CA.
    pub fn https() -> TestServer {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "brine test CA");
        let ca = ca_params.self_signed(&ca_key).expect("CA cert");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().expect("server key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        let cert = params.signed_by(&key, &issuer).expect("server cert");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .expect("server config");
        let mut s = TestServer::start(Some(Arc::new(config)));
        s.ca_pem = Some(ca.pem());
        s
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let host = if tls.is_some() {
            "localhost"
        } else {
            "127.0.0.1"
        };
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sh, st) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                match &tls {
                    None => serve(conn, &sh),
                    Some(config) => {
                        let Ok(session) = rustls::ServerConnection::new(config.clone()) else {
                            continue;
                        };
                        serve(rustls::StreamOwned::new(session, conn), &sh);
                    }
                }
            }
        });
        TestServer {
            base: format!("{scheme}://{host}:{}", addr.port()),
            shared,
            stop,
            addr,
            thread: Some(thread),
            ca_pem: None,
        }
    }

    pub fn route(&self, path: &str, reply: Reply) {
        self.shared
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), reply);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.shared
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests to every path.
    pub fn total_hits(&self) -> usize {
        self.shared.lock().unwrap().hits.values().sum()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One request per connection (`Connection: close`).
fn serve<S: Read + Write>(mut conn: S, shared: &Mutex<Shared>) {
    let mut reader = BufReader::new(&mut conn);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    drop(reader);
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let reply = {
        let mut s = shared.lock().unwrap();
        *s.hits.entry(path.clone()).or_default() += 1;
        match (s.routes.get(&path), &s.fallback) {
            (Some(r), _) => r.clone(),
            (None, Some(body)) => Reply::Bytes(body.clone()),
            (None, None) => Reply::Status(404),
        }
    };
    let (head, body) = match reply {
        Reply::Bytes(b) => ("200 OK".to_string(), b),
        Reply::Redirect(to) => (format!("302 Found\r\nLocation: {to}"), Vec::new()),
        Reply::Status(code) => (format!("{code} Status"), Vec::new()),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(&body);
    let _ = conn.flush();
}
