//! The two tests `diff` marks a change with: the Mann-Whitney U test for values (cost per
//! trace, latencies, tokens, calls per trace, scores) and the two-proportion z-test for rates.
//! Both two-sided, normal approximation; a change is marked at 95% and with at least
//! [`MIN_SAMPLES`] samples a side (below that the approximation is not worth trusting).

/// Samples each side needs before a change can be marked.
pub const MIN_SAMPLES: usize = 20;

/// Two-sided significance level.
pub const ALPHA: f64 = 0.05;

/// Complementary error function (Numerical Recipes' `erfcc`, fractional error below 1.2e-7:
/// plenty for a 5% decision).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Two-sided p-value of a standard normal statistic.
pub fn two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// Mann-Whitney U of `a` against `b`: U of `a`, the z statistic (with tie correction and a
/// continuity correction of 0.5, as scipy's `mannwhitneyu(method="asymptotic")`) and the
/// two-sided p-value. `None` when a side is empty or every value is the same (no spread, no
/// evidence either way).
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let (mut rank_sum_a, mut tie_term) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1..=j share their mean.
        let rank = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        rank_sum_a += rank * all[i..j].iter().filter(|(_, from_a)| *from_a).count() as f64;
        i = j;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u = rank_sum_a - n1f * (n1f + 1.0) / 2.0;
    let mu = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if var <= 0.0 || !var.is_finite() {
        return None;
    }
    let d = u - mu;
    let z = (d.abs() - 0.5).max(0.0) / var.sqrt() * d.signum();
    Some(MannWhitney {
        u,
        z,
        p: two_sided_p(z),
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MannWhitney {
    pub u: f64,
    pub z: f64,
    pub p: f64,
}

/// Two-proportion z-test (pooled) of `x1` of `n1` against `x2` of `n2`: z (positive when the
/// second share is higher) and the two-sided p-value. `None` when a side is empty or the
/// pooled share is 0 or 1 (nothing varies).
pub fn two_proportions(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<(f64, f64)> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se <= 0.0 || !se.is_finite() {
        return None;
    }
    let z = (x2 as f64 / n2f - x1 as f64 / n1f) / se;
    Some((z, two_sided_p(z)))
}

/// The value at quantile `q` (nearest rank) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_tail_matches_tables() {
        // Φ(1.959964) = 0.975: the 95% two-sided point.
        assert!(close(two_sided_p(1.959_964), 0.05, 1e-6));
        assert!(close(two_sided_p(0.0), 1.0, 1e-6));
        assert!(close(two_sided_p(-2.575_829), 0.01, 1e-6));
        assert!(close(two_sided_p(3.290_527), 0.001, 1e-6));
    }

    #[test]
    fn u_test_without_ties_matches_the_hand_computation() {
        // a = 1..5, b = 6..10: U = 0, mu = 12.5, var = 25/12 * 11 = 22.9167,
        // z = -(12.5 - 0.5) / 4.78714 = -2.50672, p = 2 * (1 - Φ(2.50672)) = 0.012186
        // (scipy.stats.mannwhitneyu(..., method="asymptotic") gives 0.01218).
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        let r = mann_whitney(&a, &b).unwrap();
        assert_eq!(r.u, 0.0);
        assert!(close(r.z, -2.506_72, 1e-4), "{r:?}");
        assert!(close(r.p, 0.012_186, 2e-5), "{r:?}");
        // The other way round: the same p, the opposite sign.
        let s = mann_whitney(&b, &a).unwrap();
        assert_eq!(s.u, 25.0);
        assert!(close(s.z, 2.506_72, 1e-4));
        assert!(close(s.p, r.p, 1e-12));
    }

    #[test]
    fn u_test_with_ties_uses_mean_ranks_and_the_tie_correction() {
        // a = [1, 2, 2, 3], b = [2, 3, 3, 4]; pooled sorted: 1 | 2 2 2 | 3 3 3 | 4.
        // Ranks: 1 -> 1; 2 -> 3 (ranks 2..4); 3 -> 6 (ranks 5..7); 4 -> 8.
        // R(a) = 1 + 3 + 3 + 6 = 13, U = 13 - 10 = 3, mu = 8.
        // Ties: two groups of 3: sum(t^3 - t) = 48; var = 16/12 * (9 - 48/56) = 10.857143.
        // z = -(5 - 0.5) / 3.295017 = -1.365698, p = 0.172033.
        let r = mann_whitney(&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 3.0, 4.0]).unwrap();
        assert_eq!(r.u, 3.0);
        assert!(close(r.z, -1.365_698, 1e-5), "{r:?}");
        assert!(close(r.p, 0.172_033, 1e-5), "{r:?}");
    }

    #[test]
    fn u_test_sees_a_shift_among_many_ties_and_nothing_in_identical_samples() {
        // 30 zeros against 20 zeros and 10 twos: a retry loop on a third of the traces.
        let a = vec![0.0; 30];
        let mut b = vec![0.0; 20];
        b.extend([2.0; 10]);
        // 50 zeros share ranks 1..50 (mean 25.5): R(a) = 765, U = 765 - 465 = 300, mu = 450;
        // ties: (50^3 - 50) + (10^3 - 10) = 125940; var = 900/12 * (61 - 125940/3540)
        // = 1906.7797; z = -(150 - 0.5) / 43.66668 = -3.423662, p = 0.000618.
        let r = mann_whitney(&a, &b).unwrap();
        assert_eq!(r.u, 300.0);
        assert!(close(r.z, -3.423_662, 1e-5), "{r:?}");
        assert!(close(r.p, 0.000_618, 1e-6), "{r:?}");
        assert_eq!(mann_whitney(&a, &a), None, "no spread at all: no evidence");
        let same = [1.0, 5.0, 2.0, 8.0];
        let r = mann_whitney(&same, &same).unwrap();
        assert!(close(r.p, 1.0, 1e-9), "{r:?}");
    }

    #[test]
    fn two_proportion_test_matches_the_hand_computation() {
        // 10/100 against 25/100: pooled 0.175, se = sqrt(0.175 * 0.825 * 0.02) = 0.0537354,
        // z = 0.15 / 0.0537354 = 2.791453, p = 0.005247.
        let (z, p) = two_proportions(10, 100, 25, 100).unwrap();
        assert!(close(z, 2.791_453, 1e-5), "{z}");
        assert!(close(p, 0.005_247, 1e-5), "{p}");
        assert_eq!(two_proportions(0, 50, 0, 50), None);
        assert_eq!(two_proportions(1, 0, 1, 5), None);
    }

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(mean(&[1.0, 2.0]), Some(1.5));
    }
}
