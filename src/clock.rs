//! Event times as people read them: `HH:MM:SS` and RFC 3339, both UTC. A leaf, for every
//! printer (the screen, alert lines, `report`'s progress, dataset names).

/// Event time (unix seconds) as UTC `HH:MM:SS`, as the screen's clock shows it.
pub fn hms(unix_secs: u64) -> String {
    let s = unix_secs % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Unix seconds as RFC 3339 UTC (`2026-11-27T10:03:12Z`).
pub fn rfc3339(second: u64) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let days = (second / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{}Z", hms(second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_people_read_them() {
        assert_eq!(hms(1_764_237_792), "10:03:12");
        assert_eq!(hms(1_800_000_000), "08:00:00");
        assert_eq!(rfc3339(1_764_237_792), "2025-11-27T10:03:12Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
