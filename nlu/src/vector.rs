//! Dense-vector arithmetic that the compiler vectorises.

/// Dot product in eight independent lanes, which the compiler turns into
/// vector instructions (a plain sum must keep its order and stays scalar):
/// the nearest-neighbour vote and the encoder's attention are mostly this.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    #[test]
    fn dot_matches_a_plain_sum_for_every_tail_length() {
        for n in [0, 1, 7, 8, 9, 32, 37] {
            let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
            let b: Vec<f32> = (0..n).map(|i| 1.0 - i as f32 * 0.25).collect();
            let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((super::dot(&a, &b) - want).abs() < 1e-4, "n = {n}");
        }
    }
}
