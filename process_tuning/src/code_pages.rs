//! Lets an idle daemon's resident size reflect the code it runs, not the
//! code it ran once at start-up.
//!
//! The kernel maps code around each page fault (64 KiB at a time), and
//! start-up (argument parsing, grains, config) touches code the daemon never
//! runs again. Dropping the clean code pages once the daemon is up, and
//! asking for no read-around from then on, leaves resident only what its loop
//! touches. Only executable mappings are dropped: they are never written, so
//! the kernel reads them back from the page cache when needed; writable or
//! relocated data is left alone.
pub fn trim() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    let mut trimmed = 0usize;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        // Only private executable file mappings (r-xp with a path).
        if perms != "r-xp" || fields.nth(3).is_none() {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // SAFETY: the range is a whole mapping of clean, never-written code;
        // advice on it changes residency, not contents.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_RANDOM);
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
        trimmed += end - start;
    }
    tracing::debug!(bytes = trimmed, "dropped start-up code pages");
}

#[cfg(test)]
mod tests {
    /// Resident KiB of this process's executable mappings.
    fn code_rss_kib() -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut in_code = false;
        let mut total = 0;
        for line in smaps.lines() {
            if line.contains('-') && line.split_whitespace().nth(1).is_some_and(|p| p.len() == 4) {
                in_code = line.split_whitespace().nth(1) == Some("r-xp");
            } else if in_code {
                if let Some(kb) = line.strip_prefix("Rss:") {
                    total += kb
                        .trim()
                        .trim_end_matches(" kB")
                        .parse::<usize>()
                        .unwrap_or(0);
                }
            }
        }
        total
    }

    #[test]
    fn trimming_drops_resident_code_and_the_process_runs_on() {
        let before = code_rss_kib();
        super::trim();
        let after = code_rss_kib();
        assert!(after < before, "{before} KiB -> {after} KiB");
        // Code runs again after its pages were dropped (they come back on use).
        let v: Vec<u64> = (0..1000).map(|i| i * i).collect();
        assert_eq!(v[999], 998001);
    }
}
