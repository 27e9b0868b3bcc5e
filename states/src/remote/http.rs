//! The blocking http(s) client of [`super::RemoteFiles`]: ureq over rustls
//! (ring; no OpenSSL, no tokio), bounded in time, size and redirects. An
//! error names the URL with its user and password replaced, as Salt's
//! `redact_http_basic_auth` does.
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::state::StateError;

/// What one download may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Past this many bytes the download fails (it is held in memory).
    pub max_bytes: u64,
    pub connect: Duration,
    /// The whole download, redirects included.
    pub total: Duration,
    pub max_redirects: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 30,
            connect: Duration::from_secs(30),
            total: Duration::from_secs(30 * 60),
            max_redirects: 10,
        }
    }
}

/// The certificates https trusts.
pub(super) enum Roots {
    /// The system's store, read when the first https download needs it.
    System,
    Given(Arc<Vec<Certificate<'static>>>),
}

impl Roots {
    pub(super) fn pem(pem: &[u8]) -> Result<Roots, StateError> {
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(PemItem::Certificate(c)) => certs.push(c),
                Ok(_) => {}
                Err(e) => return Err(StateError::args(format!("bad CA certificate PEM: {e}"))),
            }
        }
        if certs.is_empty() {
            return Err(StateError::args("no certificate in the CA PEM"));
        }
        Ok(Roots::Given(Arc::new(certs)))
    }
}

pub(super) struct Client {
    roots: Roots,
    limits: Limits,
    agent: OnceLock<ureq::Agent>,
}

impl Client {
    pub(super) fn new(roots: Roots, limits: Limits) -> Self {
        Client {
            roots,
            limits,
            agent: OnceLock::new(),
        }
    }

    fn agent(&self) -> &ureq::Agent {
        self.agent.get_or_init(|| {
            let certs = match &self.roots {
                Roots::Given(c) => c.clone(),
                Roots::System => Arc::new(system_roots()),
            };
            let l = self.limits;
            ureq::Agent::config_builder()
                .timeout_connect(Some(l.connect))
                .timeout_global(Some(l.total))
                .max_redirects(l.max_redirects)
                // Checked in `get`, to word it with the reason as Salt does.
                .http_status_as_error(false)
                .user_agent(concat!("brine/", env!("CARGO_PKG_VERSION")))
                .tls_config(
                    TlsConfig::builder()
                        .root_certs(RootCerts::Specific(certs))
                        .build(),
                )
                .build()
                .into()
        })
    }

    /// The body of a GET of `url` (after redirects); any status but 2xx
    /// is an error, worded as Salt's fileclient words it (`Error: HTTP 404:
    /// Not Found reading …`, with the whole URL where Salt has its path).
    pub(super) fn get(&self, url: &str) -> Result<Vec<u8>, StateError> {
        let shown = redact(url);
        let fail = |e: ureq::Error| {
            let why = match e {
                ureq::Error::BodyExceedsLimit(n) => {
                    format!("Error: {shown} is larger than the {n} bytes a download may have")
                }
                ureq::Error::TooManyRedirects => format!(
                    "Error: {shown} redirects more than {} times",
                    self.limits.max_redirects
                ),
                other => format!("Error: {other} reading {shown}"),
            };
            // ureq may quote the URL itself (a bad URI): never its password.
            StateError::host(scrub(&why, url))
        };
        let mut response = self.agent().get(url).call().map_err(fail)?;
        let status = response.status();
        if !status.is_success() {
            return Err(StateError::host(format!(
                "Error: HTTP {}: {} reading {shown}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Unknown")
            )));
        }
        response
            .body_mut()
            .with_config()
            .limit(self.limits.max_bytes)
            .read_to_vec()
            .map_err(fail)
    }
}

/// The system's roots: `SSL_CERT_FILE`/`SSL_CERT_DIR` when set, else the
/// distribution's bundle. A certificate that does not load is skipped.
fn system_roots() -> Vec<Certificate<'static>> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!(error = %e, "a system CA certificate did not load");
    }
    found
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect()
}

/// The `user:password@` of a URL, if it has one.
fn userinfo(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    authority.rsplit_once('@').map(|(info, _)| info)
}

/// `url` with its userinfo replaced by `<redacted>` (Salt's spelling).
pub fn redact(url: &str) -> String {
    match (userinfo(url), url.split_once("://")) {
        (Some(info), Some((scheme, rest))) => {
            format!("{scheme}://<redacted>{}", &rest[info.len()..])
        }
        _ => url.to_string(),
    }
}

/// `text` with the URL's userinfo (and its password alone) cut out.
fn scrub(text: &str, url: &str) -> String {
    let Some(info) = userinfo(url).filter(|i| !i.is_empty()) else {
        return text.to_string();
    };
    let mut out = text.replace(info, "<redacted>");
    if let Some((_, password)) = info.split_once(':').filter(|(_, p)| !p.is_empty()) {
        out = out.replace(password, "<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_never_shows() {
        assert_eq!(
            redact("https://bob:s3cret@example.com/a@b?x=@"),
            "https://<redacted>@example.com/a@b?x=@"
        );
        assert_eq!(redact("http://example.com/x"), "http://example.com/x");
        assert_eq!(
            scrub(
                "bad uri http://bob:s3cret@h/ (s3cret)",
                "http://bob:s3cret@h/"
            ),
            "bad uri http://<redacted>@h/ (<redacted>)"
        );
    }
}
