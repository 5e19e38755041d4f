//! A branch-free single-precision `exp` for the slot tagger's training loop
//! (and the encoder's attention softmax).
//!
//! The CRF's forward-backward takes about 5 million exponentials an epoch on
//! the ChatOps data (every transition weight once per sentence, every state
//! score once per token). The C library's `exp` is a call per value that
//! cannot vectorise; this is plain arithmetic that the compiler turns into SIMD
//! over a slice, four values a step. Its inputs are f32 weights and scores,
//! so f32 precision (about 2e-7 relative) loses nothing they carry.

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split in two so that `k * LN2_HI` is exact for the `k` used here.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding `1.5 * 2^23` rounds to an integer held in the low mantissa bits.
const SHIFTER: f32 = 12_582_912.0;
/// Below this `exp` is under the smallest normal float: the answer is 0.
const MIN_X: f32 = -87.0;
/// Above this `exp` overflows; inputs are clamped here (weights never get close).
const MAX_X: f32 = 88.0;

/// `e^x` to about 2e-7 relative error; 0 below -87, clamped above 88.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let xc = x.clamp(MIN_X, MAX_X);
    let kf = xc * LOG2_E + SHIFTER;
    let k = kf - SHIFTER;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    // exp(r) for |r| <= 0.35: Taylor to degree 7 (remainder below 1e-8).
    let mut p = 1.0 / 5_040.0;
    for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = p * r + c;
    }
    // 2^k from the integer in the shifted value's low bits.
    let ki = kf.to_bits().wrapping_sub(SHIFTER.to_bits());
    let scale = f32::from_bits(ki.wrapping_add(127) << 23);
    if x < MIN_X { 0.0 } else { p * scale }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_library_exp() {
        let mut x = -80.0f32;
        while x < 80.0 {
            let (a, b) = (f64::from(exp(x)), f64::from(x).exp());
            assert!(((a - b) / b).abs() < 3e-7, "exp({x}) = {a}, library {b}");
            x += 0.0137;
        }
        for x in [0.0f32, -0.0, 1.0, -1.0, 0.3465, -0.3467, 87.9, -86.9] {
            let (a, b) = (f64::from(exp(x)), f64::from(x).exp());
            assert!(((a - b) / b).abs() < 3e-7, "exp({x}) = {a}, library {b}");
        }
    }

    #[test]
    fn underflows_to_zero_and_never_returns_nan_or_infinity() {
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(1e6).is_finite());
    }
}
