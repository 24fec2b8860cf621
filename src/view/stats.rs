//! The small statistics the screen's comparisons rest on: how many samples a Δ needs, whether
//! a fail rate changed by more than chance, medians. The cost-outlier rule lives with its
//! streaming twin in [`crate::store::outliers`].

/// A Δ column compares two sides only when each has at least this many samples (calls for
/// latency, judged verdicts for evals); fewer shows `·`.
pub const MIN_SAMPLES: u64 = 20;

/// |z| at or above this counts as a significant change of a fail rate (about 1 in 370 by
/// chance for one row; the pane shows tens of rows, so a looser bar would flag noise).
pub const SIGNIFICANT_Z: f64 = 3.0;

/// Whether both sides of a comparison have enough samples.
pub fn enough(now: u64, before: u64) -> bool {
    now >= MIN_SAMPLES && before >= MIN_SAMPLES
}

/// The two-proportion z statistic of `fail_now / n_now` against `fail_before / n_before`
/// (pooled variance): positive when the rate rose. `None` when either side has fewer than
/// [`MIN_SAMPLES`], or when both sides are all-pass or all-fail (no variance: no change).
pub fn two_proportion_z(fail_now: u64, n_now: u64, fail_before: u64, n_before: u64) -> Option<f64> {
    if !enough(n_now, n_before) {
        return None;
    }
    let (a, n1) = (fail_now as f64, n_now as f64);
    let (b, n2) = (fail_before as f64, n_before as f64);
    let pooled = (a + b) / (n1 + n2);
    let var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if var <= 0.0 {
        return Some(0.0);
    }
    Some((a / n1 - b / n2) / var.sqrt())
}

/// The median of `values` (sorted in place); `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// Median and median absolute deviation of `values`.
pub fn median_mad(values: &[f64]) -> Option<(f64, f64)> {
    let mut v = values.to_vec();
    let m = median(&mut v)?;
    let mut dev: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    let mad = median(&mut dev)?;
    Some((m, mad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_rate_is_not_significant_and_a_jump_is() {
        // 19% of 200 against 20% of 200: chance.
        let z = two_proportion_z(38, 200, 40, 200).unwrap();
        assert!(z.abs() < SIGNIFICANT_Z, "{z}");
        // 45% of 200 against 20% of 200: a change.
        let z = two_proportion_z(90, 200, 40, 200).unwrap();
        assert!(z > SIGNIFICANT_Z, "{z}");
        // Too few on one side: no verdict.
        assert_eq!(two_proportion_z(5, 10, 40, 200), None);
        assert_eq!(two_proportion_z(0, 50, 0, 50), Some(0.0));
    }

    #[test]
    fn median_and_mad() {
        assert_eq!(median_mad(&[1.0, 2.0, 3.0, 4.0, 100.0]), Some((3.0, 1.0)));
        assert_eq!(median_mad(&[]), None);
    }
}
