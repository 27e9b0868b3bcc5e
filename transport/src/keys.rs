//! Static X25519 identity keys for masters, minions and operators, as files.
//!
//! A private key file holds the base64 of its 32 bytes and is created 0600; a
//! file that the group or others can read is refused, because a key anyone on
//! the host can read is no identity. A public key file holds the base64 of the
//! 32 public bytes. A fingerprint is the SHA-256 of the public bytes as
//! colon-separated hex pairs, the form Salt prints for `master_finger`.
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::noise;

/// Errors reading or writing key files.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "key file {path} is readable by group or others (mode {mode:04o}); run: chmod 600 {path}"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("key file {path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("cannot generate a key: {0}")]
    Generate(String),
}

/// A 32-byte X25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// SHA-256 of the key as `ab:cd:...`.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0);
        let mut out = String::with_capacity(95);
        for (i, b) in digest.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    pub fn from_base64(text: &str) -> Option<PublicKey> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()?;
        Some(PublicKey(bytes.try_into().ok()?))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<PublicKey> {
        Some(PublicKey(bytes.try_into().ok()?))
    }

    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<PublicKey, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        PublicKey::from_base64(&text).ok_or_else(|| KeyError::Format {
            path: path.to_path_buf(),
            message: "expected the base64 of a 32-byte X25519 public key".into(),
        })
    }

    /// Writes a public key file (0644), atomically.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        write_atomic(path, format!("{}\n", self.to_base64()).as_bytes(), 0o644)
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

/// A static identity: the private key and its public half.
#[derive(Clone)]
pub struct KeyPair {
    private: [u8; 32],
    pub public: PublicKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair {{ public: {:?} }}", self.public)
    }
}

impl KeyPair {
    pub fn generate() -> Result<KeyPair, KeyError> {
        let kp = noise::builder()
            .generate_keypair()
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        Ok(KeyPair {
            private: kp.private.try_into().expect("X25519 keys are 32 bytes"),
            public: PublicKey(kp.public.try_into().expect("X25519 keys are 32 bytes")),
        })
    }

    pub fn private_bytes(&self) -> &[u8; 32] {
        &self.private
    }

    /// Reads `NAME.key` (and derives the public half). Refuses a file others can read.
    pub fn load(path: &Path) -> Result<KeyPair, KeyError> {
        check_private_mode(path)?;
        let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |message: &str| KeyError::Format {
            path: path.to_path_buf(),
            message: message.into(),
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| bad("expected base64"))?;
        let private: [u8; 32] = bytes
            .try_into()
            .map_err(|_| bad("expected a 32-byte X25519 private key"))?;
        Ok(KeyPair {
            private,
            public: PublicKey(x25519_public(&private)),
        })
    }

    /// Writes the private key (0600) at `path` and the public key beside it
    /// with the extension `.pub`.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let text = format!(
            "{}\n",
            base64::engine::general_purpose::STANDARD.encode(self.private)
        );
        write_atomic(path, text.as_bytes(), 0o600)?;
        self.public.save(&path.with_extension("pub"))
    }

    /// Loads the key at `path`, or makes one and saves it there if there is none.
    pub fn load_or_create(path: &Path) -> Result<KeyPair, KeyError> {
        if path.exists() {
            return KeyPair::load(path);
        }
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        let kp = KeyPair::generate()?;
        kp.save(path)?;
        tracing::info!(path = %path.display(), fingerprint = %kp.public.fingerprint(), "created a new key");
        Ok(kp)
    }
}

fn x25519_public(private: &[u8; 32]) -> [u8; 32] {
    use snow::resolvers::{CryptoResolver, DefaultResolver};
    let mut dh = DefaultResolver
        .resolve_dh(&snow::params::DHChoice::Curve25519)
        .expect("the default resolver has X25519");
    dh.set(private);
    dh.pubkey().try_into().expect("X25519 keys are 32 bytes")
}

/// Creates `dir` (and parents) with mode 0700 if it is missing.
pub fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| KeyError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

use std::os::unix::fs::DirBuilderExt;

fn check_private_mode(path: &Path) -> Result<(), KeyError> {
    let meta = fs::metadata(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Writes through a temp file in the same directory (durable's fsyncs),
/// with exactly `mode`: set on the temp file, whatever the umask, before it
/// gets the key's name.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let exact_mode = |f: &fs::File| f.set_permissions(fs::Permissions::from_mode(mode));
    durable::Durable::new()
        .mode(mode)
        .prepare(&exact_mode)
        .write(path, bytes)
        .map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// A master's address as part of the file its key is remembered in on
/// first use (`master-HOST_PORT.pub`): letters, digits, `.` and `-` kept,
/// anything else `_`, so an address never makes a path.
pub fn address_file_part(address: &str) -> String {
    address
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_0600_and_reloaded_with_the_same_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pki/minion.key");
        let kp = KeyPair::load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let again = KeyPair::load_or_create(&path).unwrap();
        assert_eq!(again.public, kp.public);
        assert_eq!(
            PublicKey::load(&path.with_extension("pub")).unwrap(),
            kp.public
        );
    }

    #[test]
    fn a_group_or_world_readable_private_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        KeyPair::generate().unwrap().save(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = KeyPair::load(&path).unwrap_err();
        assert!(
            matches!(err, KeyError::Permissions { mode: 0o640, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"));
    }

    #[test]
    fn fingerprint_is_sha256_in_colon_hex() {
        let key = PublicKey([0u8; 32]);
        // sha256 of 32 zero bytes.
        assert!(key
            .fingerprint()
            .starts_with("66:68:7a:ad:f8:62:bd:77:6c:8f:c1:8b:8e:9f:8e:20"));
        assert_eq!(key.fingerprint().len(), 95);
        assert_eq!(PublicKey::from_base64(&key.to_base64()), Some(key));
        assert_eq!(PublicKey::from_base64("c2hvcnQ="), None);
    }
}
