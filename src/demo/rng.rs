//! A small deterministic PRNG (xoshiro256** seeded through splitmix64), so that a seed names the
//! same traffic on every machine. Only exactly rounded float operations are used (no `ln`, `exp`
//! or `cos`, whose last bits differ between C libraries), so generated numbers and the text they
//! end up in do not depend on the platform.

/// splitmix64: expands a seed into well-mixed words.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// xoshiro256** (Blackman and Vigna).
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self { s }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform integer in lo..=hi (Lemire's multiply-shift; the tiny bias is irrelevant here).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        let span = hi - lo + 1;
        if span == 0 {
            return self.next_u64();
        }
        lo + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as u64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.range(0, len as u64 - 1) as usize
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An index drawn with the given weights.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.range(0, total - 1);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// A latency-like positive number around `median`: mostly within 0.6x..1.5x, with a tail
    /// (one in ten up to 3.5x) as real network calls have.
    pub(crate) fn latency(&mut self, median: f64) -> f64 {
        // Sum of two uniforms: a triangular body centred on 1.
        let body = 0.55 + 0.45 * (self.f64() + self.f64());
        let tail = if self.chance(0.1) {
            self.uniform(1.3, 3.5)
        } else {
            1.0
        };
        median * body * tail
    }

    /// A non-zero id of `N` bytes.
    pub(crate) fn id<const N: usize>(&mut self) -> [u8; N] {
        loop {
            let mut out = [0u8; N];
            for chunk in out.chunks_mut(8) {
                let w = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&w[..chunk.len()]);
            }
            if out.iter().any(|b| *b != 0) {
                return out;
            }
        }
    }

    /// `n` characters from `alphabet`, appended to `out`.
    pub(crate) fn push_chars(&mut self, out: &mut String, alphabet: &[u8], n: usize) {
        for _ in 0..n {
            out.push(alphabet[self.index(alphabet.len())] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_first_outputs_and_ranges() {
        // splitmix64 of seed 0 (reference values from Vigna's splitmix64.c).
        let mut sm = 0u64;
        assert_eq!(splitmix64(&mut sm), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(&mut sm), 0x6e78_9e6a_a1b9_65f4);
        let mut r = Rng::new(7);
        let mut seen = [false; 6];
        for _ in 0..10_000 {
            let x = r.range(3, 8);
            assert!((3..=8).contains(&x));
            seen[(x - 3) as usize] = true;
            let f = r.f64();
            assert!((0.0..1.0).contains(&f));
        }
        assert!(seen.iter().all(|s| *s));
        let counts = (0..30_000).fold([0u32; 3], |mut c, _| {
            c[r.weighted(&[1, 2, 7])] += 1;
            c
        });
        assert!(counts[2] > counts[1] && counts[1] > counts[0], "{counts:?}");
    }
}
