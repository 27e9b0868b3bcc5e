//! The jobs of a master that is gone, in the shared job cache: a master's
//! job-cache connection carries its name in `pg_stat_activity` for as long
//! as the master lives, so the others can tell that it died with jobs
//! running (no heartbeat table: PostgreSQL already knows who is
//! connected). Those jobs are finished by the survivors, so `jobs active`
//! does not list them for ever; late returns are still recorded.
use super::jid::now_ms;
use super::postgres::PgJobCache;
use super::Result;

/// PostgreSQL keeps 63 bytes of a name: the prefix and the fingerprint's
/// first 47 characters (16 bytes of the key's hash) fit.
const NAME_PREFIX: &str = "brine-master ";
const FINGERPRINT_CHARS: usize = 47;

/// The name a master's job-cache connection carries.
pub fn application_name(master: &str) -> String {
    let short: String = master.chars().take(FINGERPRINT_CHARS).collect();
    format!("{NAME_PREFIX}{short}")
}

/// True when `j.master` has no connection in the store now (SQL, for a
/// `brine_jobs j` row).
const ABSENT: &str = "NOT EXISTS (SELECT 1 FROM pg_stat_activity a
     WHERE a.application_name = 'brine-master ' || left(j.master, 47))";

impl PgJobCache {
    /// The other masters with jobs running and no connection to the store.
    pub fn absent_masters(&self) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT DISTINCT j.master FROM brine_jobs j
              WHERE j.finished IS NULL AND j.master <> $1 AND {ABSENT}"
        );
        self.run(|c| {
            Ok(c.query(&sql, &[&self.master()])?
                .iter()
                .map(|r| r.get(0))
                .collect())
        })
    }

    /// Finishes the running jobs of those of `masters` that are still
    /// absent: a master seen absent twice, a sweep apart, is gone (not
    /// between a store restart and its next call, when it connects again).
    pub fn finish_jobs_of_absent(&self, masters: &[String]) -> Result<usize> {
        let now = now_ms();
        let sql = format!(
            "UPDATE brine_jobs AS j SET finished = $1
              WHERE j.finished IS NULL AND j.master = ANY($2) AND j.master <> $3 AND {ABSENT}"
        );
        self.run(|c| Ok(c.execute(&sql, &[&now, &masters, &self.master()])? as usize))
    }
}
