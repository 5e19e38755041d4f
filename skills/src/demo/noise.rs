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
    parts.iter().fold(0x2545_F491_4F6C_DD1D, |acc, &p| mix(acc ^ mix(p)))
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
    let x = t / period;
    let i = x.floor();
    let f = x - i;
    let at = |n: f64| unit(hash(&[seed, key, n as i64 as u64])) * 2.0 - 1.0;
    let ease = f * f * (3.0 - 2.0 * f);
    at(i) * (1.0 - ease) + at(i + 1.0) * ease
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
}
