//! Which master keys this minion trusts: `master_fingerprint` pinned in
//! the config, or each master's key remembered on first use.
use std::path::PathBuf;

use transport::keys::PublicKey;

use super::masters::MasterAddr;
use super::DaemonConfig;

/// The file a master's key is remembered in on first use: `master.pub`
/// with one master (as always), a file per master with several.
fn trusted_key_path(config: &DaemonConfig, master: &MasterAddr) -> PathBuf {
    if config.masters.len() == 1 {
        config.pki_dir.join("master.pub")
    } else {
        config.pki_dir.join(master.trusted_key_file())
    }
}

pub(super) fn verify_master(
    config: &DaemonConfig,
    master: &MasterAddr,
    key: &PublicKey,
) -> Result<(), String> {
    let seen = key.fingerprint();
    if !config.master_fingerprints.is_empty() {
        return if config
            .master_fingerprints
            .iter()
            .any(|pinned| pinned.eq_ignore_ascii_case(&seen))
        {
            Ok(())
        } else {
            Err(format!(
                "master_fingerprint is {}",
                config.master_fingerprints.join(", ")
            ))
        };
    }
    // Trust on first use, then refuse a change.
    let path = trusted_key_path(config, master);
    match PublicKey::load(&path) {
        Ok(known) if known == *key => Ok(()),
        Ok(known) => Err(format!(
            "this minion trusts master key {} ({}); remove that file to trust a new master",
            known.fingerprint(),
            path.display()
        )),
        // First use: saved once the session is up (see `trust_on_first_use`),
        // so a full disk or descriptor table is a retry, not a refusal.
        Err(_) if !path.exists() => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// Remembers the master's key the first time; later sessions must match it.
pub(super) fn trust_on_first_use(
    config: &DaemonConfig,
    master: &MasterAddr,
    key: &PublicKey,
) -> Result<(), String> {
    let path = trusted_key_path(config, master);
    if !config.master_fingerprints.is_empty() || path.exists() {
        return Ok(());
    }
    key.save(&path)
        .map_err(|e| format!("cannot save the master's key: {e}"))?;
    tracing::info!(master = %master, fingerprint = %key.fingerprint(), "trusting the master's key on first use");
    Ok(())
}
