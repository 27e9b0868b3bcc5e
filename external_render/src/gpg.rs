//! `gpg`: one armoured message decrypted by the system's `gpg` with the
//! keyring in `gpg_keydir`, as Salt's gpg renderer runs it: ciphertext on
//! stdin, plaintext from stdout. Bounded in time and size; an error carries
//! gpg's stderr (cut), never plaintext.
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::render::ExternalError;

/// How long one decryption may take (a missing agent or a passphrase
/// prompt must not hang a compile).
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The largest plaintext read back: a pillar value, not a disk image.
pub const MAX_PLAINTEXT: usize = 4 << 20;

/// How much of gpg's stderr an error shows.
const MAX_STDERR: usize = 600;

pub fn decrypt(keydir: &Path, armored: &str) -> Result<String, ExternalError> {
    let mut child = Command::new("gpg")
        .arg("--homedir")
        .arg(keydir)
        .args(["--batch", "--no-tty", "--quiet", "--decrypt"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ExternalError::Unavailable {
            renderer: "gpg".into(),
            reason: format!("cannot run gpg: {e}"),
        })?;
    let mut stdin = child.stdin.take().expect("piped");
    let input = armored.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout)
            .take(MAX_PLAINTEXT as u64 + 1)
            .read_to_end(&mut out);
        out
    });
    let mut stderr = child.stderr.take().expect("piped");
    let err_reader = std::thread::spawn(move || {
        let mut err = Vec::new();
        let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut err);
        err
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < TIMEOUT => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ExternalError::Failed(format!(
                    "gpg took longer than {}s",
                    TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(ExternalError::Failed(format!("waiting for gpg: {e}"))),
        }
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(ExternalError::Failed(stderr_text(&err, status.to_string())));
    }
    if out.len() > MAX_PLAINTEXT {
        return Err(ExternalError::Failed(format!(
            "the plaintext is larger than {MAX_PLAINTEXT} bytes"
        )));
    }
    String::from_utf8(out)
        .map_err(|_| ExternalError::Failed("the plaintext is not UTF-8 text".into()))
}

/// gpg's complaint, cut, on one line; the exit status when it said nothing.
fn stderr_text(err: &[u8], status: String) -> String {
    let text = String::from_utf8_lossy(err);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return format!("gpg failed ({status})");
    }
    match text.char_indices().nth(MAX_STDERR) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gpg is installed by scripts/test-prereqs.sh; these tests need it.
    fn gpg(home: &Path, args: &[&str], input: Option<&str>) -> String {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(home)
            .args(["--batch", "--no-tty", "--quiet"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg is installed (scripts/test-prereqs.sh)");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.unwrap_or("").as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A throwaway GnuPG home; its agent is stopped with it.
    struct Keyring(tempfile::TempDir);

    impl Drop for Keyring {
        fn drop(&mut self) {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(self.0.path())
                .args(["--kill", "gpg-agent"])
                .status();
        }
    }

    fn keyring() -> Keyring {
        let home = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        gpg(
            home.path(),
            &[
                "--passphrase",
                "",
                "--quick-gen-key",
                "brine-test",
                "default",
                "default",
                "never",
            ],
            None,
        );
        Keyring(home)
    }

    #[test]
    fn decrypts_with_the_keyring_and_fails_without_it_naming_gpgs_complaint() {
        let keyring = keyring();
        let home = &keyring.0;
        let cipher = gpg(
            home.path(),
            &[
                "--armor",
                "--trust-model",
                "always",
                "--encrypt",
                "-r",
                "brine-test",
            ],
            Some("s3cret-value\n"),
        );
        assert!(cipher.contains("BEGIN PGP MESSAGE"));
        assert_eq!(decrypt(home.path(), &cipher).unwrap(), "s3cret-value\n");

        let other = tempfile::tempdir().unwrap();
        let err = decrypt(other.path(), &cipher).unwrap_err().to_string();
        assert!(
            err.contains("No secret key") || err.contains("decryption failed"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");

        let err = decrypt(home.path(), "not a message")
            .unwrap_err()
            .to_string();
        assert!(!err.is_empty());
    }
}
