//! Seeded, random-access noise: the same (seed, key, time) always gives the same
//! value, so any window can be computed on its own and tests are repeatable.

/// SplitMix64 finaliser: a good 64-bit mix of one word.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of several words, order-sensitive.
pub(crate) fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x2545_F491_4F6C_DD1D, |acc, &p| hash_more(acc, p))
}

/// Extends a hash by one word: `hash_more(hash(&[a, b]), c) == hash(&[a, b, c])`,
/// so a loop over the last word hashes the fixed words once.
pub(crate) fn hash_more(prefix: u64, part: u64) -> u64 {
    mix(prefix ^ mix(part))
}

/// Stable key of a name (FNV-1a), for mixing names into hashes.
pub(crate) fn key(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3))
}

/// Uniform in [0, 1) from a hash.
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Smooth value noise in [-1, 1]: seeded values every `period` seconds, eased
/// between them.
pub(crate) fn smooth(seed: u64, key: u64, t: f64, period: f64) -> f64 {
    SmoothCursor::new(seed, key, period).at(t)
}

/// [`smooth`] for one (seed, key, period) at many times: keeps the two seeded
/// values around the last time asked, so times close together (a window's
/// samples) hash once per grid cell. Gives exactly what [`smooth`] gives.
#[derive(Debug, Clone)]
pub(crate) struct SmoothCursor {
    seed: u64,
    key: u64,
    period: f64,
    /// The grid cell the values below belong to (NaN before the first call).
    cell: f64,
    left: f64,
    right: f64,
}

impl SmoothCursor {
    pub(crate) fn new(seed: u64, key: u64, period: f64) -> SmoothCursor {
        SmoothCursor { seed, key, period, cell: f64::NAN, left: 0.0, right: 0.0 }
    }

    /// The noise at `t`, as [`smooth`]`(seed, key, t, period)`.
    pub(crate) fn at(&mut self, t: f64) -> f64 {
        let x = t / self.period;
        let i = x.floor();
        let f = x - i;
        if i != self.cell {
            let (seed, key) = (self.seed, self.key);
            let at = |n: f64| unit(hash(&[seed, key, n as i64 as u64])) * 2.0 - 1.0;
            (self.cell, self.left, self.right) = (i, at(i), at(i + 1.0));
        }
        let ease = f * f * (3.0 - 2.0 * f);
        self.left * (1.0 - ease) + self.right * ease
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_deterministic_bounded_and_seeded() {
        let a: Vec<f64> = (0..200).map(|i| smooth(7, 1, f64::from(i) * 13.0, 60.0)).collect();
        let b: Vec<f64> = (0..200).map(|i| smooth(7, 1, f64::from(i) * 13.0, 60.0)).collect();
        let c: Vec<f64> = (0..200).map(|i| smooth(8, 1, f64::from(i) * 13.0, 60.0)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|v| (-1.0..=1.0).contains(v)));
        // Smooth: neighbours 13 s apart on a 60 s grid never jump by more than the full range.
        assert!(a.windows(2).all(|w| (w[0] - w[1]).abs() < 1.0));
    }

    #[test]
    fn cursor_and_prefix_hash_give_the_same_bits() {
        for period in [30.0, 240.0, 900.0] {
            let mut cursor = SmoothCursor::new(7, 3, period);
            // Forwards, backwards, across cells and around zero, at odd steps.
            let times = (-400..4000).map(|i| f64::from(i) * 0.731).chain((0..300).map(|i| 2500.0 - f64::from(i) * 9.3));
            for t in times {
                assert_eq!(cursor.at(t).to_bits(), smooth(7, 3, t, period).to_bits(), "t={t} period={period}");
            }
        }
        let prefix = hash(&[1, 2, 3]);
        for last in [0, 1, 99, u64::MAX] {
            assert_eq!(hash_more(prefix, last), hash(&[1, 2, 3, last]));
        }
    }
}
