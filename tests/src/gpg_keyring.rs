//! A throwaway GnuPG keyring made with the real `gpg`, as an operator makes
//! the master's key for encrypted pillar (`gpg_keydir`): a key with no
//! passphrase, and values encrypted to it as ASCII-armoured messages.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The user id of the key every keyring here holds.
pub const KEY_USER: &str = "brine test master";

/// A GnuPG home directory with one secret key; its agent is stopped on drop.
pub struct Keyring {
    home: PathBuf,
    /// The temp dir holding `home`, for [`Keyring::temporary`].
    _dir: Option<tempfile::TempDir>,
}

fn gpg(home: &Path) -> Command {
    let mut cmd = Command::new("gpg");
    cmd.arg("--homedir").arg(home).args(["--batch", "--no-tty"]);
    cmd
}

impl Keyring {
    /// Makes `home` (0700, as gpg wants it) and a key in it.
    pub fn create(home: &Path) -> Keyring {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(home).unwrap();
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700)).unwrap();
        let out = gpg(home)
            .args(["--passphrase", "", "--quick-gen-key", KEY_USER])
            .args(["default", "default", "never"])
            .output()
            .expect("run gpg (install gnupg: scripts/test-prereqs.sh)");
        assert!(
            out.status.success(),
            "gpg --quick-gen-key: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Keyring {
            home: home.to_path_buf(),
            _dir: None,
        }
    }

    /// A keyring in a temp dir of its own, removed with it.
    pub fn temporary() -> Keyring {
        let dir = tempfile::tempdir().unwrap();
        let mut keyring = Keyring::create(&dir.path().join("gpg"));
        keyring._dir = Some(dir);
        keyring
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// `plaintext` encrypted to the key, ASCII-armoured.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut child = gpg(&self.home)
            .args([
                "--armor",
                "--trust-model",
                "always",
                "--encrypt",
                "-r",
                KEY_USER,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run gpg");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(plaintext.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gpg --encrypt: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `encrypt` as a YAML block scalar indented by `indent` spaces, for a
    /// pillar file.
    pub fn encrypt_yaml_block(&self, plaintext: &str, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut block = String::from("|\n");
        for line in self.encrypt(plaintext).lines() {
            block.push_str(&pad);
            block.push_str(line);
            block.push('\n');
        }
        block
    }
}

/// Every file under `dir` whose bytes contain `needle` (a job cache's
/// database and WAL, logs, ...), for tests that prove a secret is not there.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}
