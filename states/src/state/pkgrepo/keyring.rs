//! Repository signing keys: where they go and in which form. apt reads a
//! `signed-by` file as a binary keyring unless it ends in `.asc`, so an
//! ASCII-armored key is de-armored here (what Salt shells out to
//! `gpg --dearmor` for).
use base64::Engine;

const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";

/// Whether `data` is an ASCII-armored public key block.
pub fn is_armored(data: &[u8]) -> bool {
    String::from_utf8_lossy(data)
        .trim_start()
        .starts_with(BEGIN)
}

/// The bytes to write to `path`: armored kept for `.asc`, binary otherwise.
pub fn for_path(path: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    if path.ends_with(".asc") || !is_armored(data) {
        Ok(data.to_vec())
    } else {
        dearmor(data)
    }
}

/// Decodes an armored public key block (RFC 4880 §6), checking its CRC-24
/// when present.
pub fn dearmor(data: &[u8]) -> Result<Vec<u8>, String> {
    let text =
        std::str::from_utf8(data).map_err(|_| "the key is not valid UTF-8 text".to_string())?;
    let start = text
        .find(BEGIN)
        .ok_or_else(|| "no PGP PUBLIC KEY BLOCK in the key".to_string())?;
    let mut lines = text[start + BEGIN.len()..].lines().skip(1).peekable();
    // Armor headers ("Version: …", "Comment: …") end at the first blank line.
    let has_headers = lines.peek().is_some_and(|l| l.contains(": "));
    if has_headers {
        for line in lines.by_ref() {
            if line.trim().is_empty() {
                break;
            }
        }
    }
    let mut body = String::new();
    let mut crc: Option<String> = None;
    let mut ended = false;
    for line in lines {
        let line = line.trim();
        if line.starts_with(END) {
            ended = true;
            break;
        }
        if let Some(sum) = line.strip_prefix('=').filter(|s| s.len() == 4) {
            crc = Some(sum.to_string());
        } else {
            body.push_str(line);
        }
    }
    if !ended {
        return Err("the key's armor has no END line".into());
    }
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = engine
        .decode(body.as_bytes())
        .map_err(|e| format!("the key's armor is not valid base64: {e}"))?;
    if let Some(sum) = crc {
        let want = engine
            .decode(sum.as_bytes())
            .map_err(|e| format!("the key's armor checksum is not valid base64: {e}"))?;
        let got = crc24(&bytes).to_be_bytes();
        if want.as_slice() != &got[1..] {
            return Err("the key's armor checksum does not match: the key is corrupt".into());
        }
    }
    if bytes.is_empty() {
        return Err("the key is empty".into());
    }
    Ok(bytes)
}

/// OpenPGP's CRC-24.
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// A keyring name from a key's URL (`salt://nginx/nginx_signing.key` →
/// `nginx_signing`), for `/etc/apt/keyrings/<name>.gpg`.
pub fn stem(url: &str) -> String {
    let last = url.rsplit('/').next().unwrap_or(url);
    let mut name = last;
    for ext in [".gpg", ".asc", ".key", ".pub", ".pgp"] {
        if let Some(s) = name.strip_suffix(ext) {
            name = s;
            break;
        }
    }
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean.trim_matches(['.', '-']).to_string();
    if clean.is_empty() {
        "repo".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Armors bytes the way gpg does, for round trips.
    fn armor(bytes: &[u8]) -> String {
        let engine = base64::engine::general_purpose::STANDARD;
        let b64 = engine.encode(bytes);
        let body: Vec<String> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let crc = engine.encode(&crc24(bytes).to_be_bytes()[1..]);
        format!(
            "{BEGIN}\nComment: test\n\n{}\n={crc}\n{END}\n",
            body.join("\n")
        )
    }

    #[test]
    fn dearmor_round_trips_and_checks_the_crc() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let text = armor(&bytes);
        assert!(is_armored(text.as_bytes()));
        assert_eq!(dearmor(text.as_bytes()).unwrap(), bytes);
        assert_eq!(for_path("/k.gpg", text.as_bytes()).unwrap(), bytes);
        assert_eq!(
            for_path("/k.asc", text.as_bytes()).unwrap(),
            text.as_bytes()
        );
        assert_eq!(for_path("/k.gpg", &bytes).unwrap(), bytes);
        let corrupt = text.replacen("AAEC", "AAED", 1);
        assert!(dearmor(corrupt.as_bytes())
            .unwrap_err()
            .contains("checksum"));
        assert!(dearmor(text.replace(END, "").as_bytes()).is_err());
        assert!(dearmor(b"hello").is_err());
    }

    #[test]
    fn dearmor_agrees_with_gpg() {
        // A real key from this host, armored by gpg, de-armored by us and by gpg.
        let keyring =
            std::path::Path::new("/usr/share/keyrings/debian-archive-bookworm-stable.gpg");
        let home = tempfile::tempdir().unwrap();
        let gpg = |args: &[&str], input: Option<&[u8]>| {
            use std::io::Write;
            let mut child = std::process::Command::new("gpg")
                .arg("--homedir")
                .arg(home.path())
                .args(["--batch", "--quiet"])
                .args(args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .ok()?;
            child
                .stdin
                .take()?
                .write_all(input.unwrap_or_default())
                .ok()?;
            let out = child.wait_with_output().ok()?;
            out.status.success().then_some(out.stdout)
        };
        if !keyring.exists() || gpg(&["--version"], None).is_none() {
            return; // no gpg or keyring on this host
        }
        gpg(&["--import", keyring.to_str().unwrap()], None).unwrap();
        let armored = gpg(&["--export", "--armor"], None).unwrap();
        let theirs = gpg(&["--dearmor"], Some(&armored)).unwrap();
        assert_eq!(dearmor(&armored).unwrap(), theirs);
    }

    #[test]
    fn stems_name_keyrings() {
        assert_eq!(stem("salt://nginx/nginx_signing.key"), "nginx_signing");
        assert_eq!(stem("/srv/keys/docker.asc"), "docker");
        assert_eq!(stem("salt://k/we ird$.gpg"), "we-ird");
        assert_eq!(stem("salt://k/.gpg"), "repo");
    }
}
