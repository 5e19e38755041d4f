//! Weight matrices stored as bf16, with a matrix product for the few rows of
//! one short sentence.
//!
//! A forward pass over one sentence reads every weight once and does little
//! arithmetic per weight, so it is bound by memory: the f32 weights (42 MB)
//! do not fit in this machine's 32 MB cache, the bf16 ones (21 MB) do. The
//! product converts each weight row to f32 once and multiplies it with all
//! rows of the input, on all cores, with the CPU's widest vector instructions
//! (chosen at run time by `pulp`, so the binary still runs on any x86-64).

use pulp::{Simd, WithSimd};
use rayon::prelude::*;

/// Outputs per parallel task: large enough that a task outweighs rayon's
/// hand-off, small enough that both cores get work on a 384-wide layer.
const OUTPUTS_PER_TASK: usize = 64;

/// Weight rows and input rows multiplied together in one tile (see [`tile`]):
/// 2 × 4 accumulators fit the 16 vector registers with room for the operands.
const OUTPUT_TILE: usize = 2;
const ROW_TILE: usize = 4;

/// A `(out, in)` row-major weight matrix rounded to bf16.
pub(super) struct Bf16Matrix {
    out: usize,
    inp: usize,
    bits: Vec<u16>,
}

impl Bf16Matrix {
    /// Rounds `weights` (`out × inp`, row-major) to the nearest bf16.
    pub(super) fn from_f32(weights: &[f32], out: usize, inp: usize) -> Self {
        debug_assert_eq!(weights.len(), out * inp);
        let bits = weights.iter().map(|&w| half::bf16::from_f32(w).to_bits()).collect();
        Self { out, inp, bits }
    }

    /// The rounded weights widened back to f32, exactly: for the batched path,
    /// which must compute with the same values as [`Bf16Matrix::forward`].
    pub(super) fn to_f32(&self) -> Vec<f32> {
        self.bits.iter().map(|&b| widen(b)).collect()
    }

    /// `x · Wᵀ + bias` for `x` of `rows × inp` (row-major); returns `rows × out`.
    pub(super) fn forward(&self, x: &[f32], rows: usize, bias: &[f32]) -> Vec<f32> {
        debug_assert_eq!(x.len(), rows * self.inp);
        debug_assert_eq!(bias.len(), self.out);
        // Each task fills `OUTPUTS_PER_TASK` outputs for every row, as
        // `out × rows` (transposed), so tasks write disjoint slices.
        let mut transposed = vec![0.0f32; self.out * rows];
        transposed.par_chunks_mut(OUTPUTS_PER_TASK * rows.max(1)).enumerate().for_each(|(task, dest)| {
            pulp::Arch::new().dispatch(Outputs { matrix: self, first: task * OUTPUTS_PER_TASK, x, rows, bias, dest });
        });
        let mut y = vec![0.0f32; rows * self.out];
        for (o, column) in transposed.chunks_exact(rows.max(1)).enumerate() {
            for (r, &v) in column.iter().enumerate() {
                y[r * self.out + o] = v;
            }
        }
        y
    }
}

/// One task of [`Bf16Matrix::forward`]: outputs `first..` (as many as `dest`
/// holds, `rows` values each), compiled for the SIMD level `pulp` detects.
struct Outputs<'a> {
    matrix: &'a Bf16Matrix,
    first: usize,
    x: &'a [f32],
    rows: usize,
    bias: &'a [f32],
    dest: &'a mut [f32],
}

impl WithSimd for Outputs<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Outputs { matrix, first, x, rows, bias, dest } = self;
        let inp = matrix.inp;
        if rows == 0 || inp == 0 {
            return;
        }
        let mut widened = vec![0.0f32; OUTPUT_TILE * inp];
        for (pair, values) in dest.chunks_mut(OUTPUT_TILE * rows).enumerate() {
            let o = first + pair * OUTPUT_TILE;
            let outputs = values.len() / rows;
            for (k, w) in widened.chunks_exact_mut(inp).take(outputs).enumerate() {
                let bits = &matrix.bits[(o + k) * inp..(o + k + 1) * inp];
                w.iter_mut().zip(bits).for_each(|(w, &b)| *w = widen(b));
            }
            let mut r = 0;
            while r < rows {
                let xs = &x[r * inp..];
                let sums = match (outputs == OUTPUT_TILE, rows - r >= ROW_TILE) {
                    (true, true) => tile::<S, OUTPUT_TILE, ROW_TILE>(simd, &widened, xs, inp),
                    (true, false) => tile::<S, OUTPUT_TILE, 1>(simd, &widened, xs, inp),
                    (false, true) => tile::<S, 1, ROW_TILE>(simd, &widened, xs, inp),
                    (false, false) => tile::<S, 1, 1>(simd, &widened, xs, inp),
                };
                for k in 0..outputs {
                    for j in 0..sums.rows {
                        values[k * rows + r + j] = sums.sums[k][j] + bias[o + k];
                    }
                }
                r += sums.rows;
            }
        }
    }
}

/// Dot products of a tile: `sums[k][j]` for weight row `k` and input row `j`
/// (only the first `rows` input rows and the tile's outputs are filled).
struct TileSums {
    sums: [[f32; ROW_TILE]; OUTPUT_TILE],
    rows: usize,
}

/// The `O × R` dot products of `O` widened weight rows (in `w`, `inp` each)
/// with the first `R` input rows of `xs`, with one vector accumulator per
/// pair: each loaded weight vector serves `R` multiply-adds and each loaded
/// input vector `O`, so the loop is bound by arithmetic, not loads.
#[inline(always)]
fn tile<S: Simd, const O: usize, const R: usize>(simd: S, w: &[f32], xs: &[f32], inp: usize) -> TileSums {
    let ws: [&[f32]; O] = std::array::from_fn(|k| &w[k * inp..(k + 1) * inp]);
    let rs: [&[f32]; R] = std::array::from_fn(|j| &xs[j * inp..(j + 1) * inp]);
    let wv: [&[S::f32s]; O] = ws.map(|a| S::as_simd_f32s(a).0);
    let xv: [&[S::f32s]; R] = rs.map(|a| S::as_simd_f32s(a).0);
    let mut acc = [[simd.splat_f32s(0.0); R]; O];
    for i in 0..wv[0].len() {
        let xi: [S::f32s; R] = std::array::from_fn(|j| xv[j][i]);
        for k in 0..O {
            let wk = wv[k][i];
            for j in 0..R {
                acc[k][j] = simd.mul_add_e_f32s(wk, xi[j], acc[k][j]);
            }
        }
    }
    let tail = inp - S::as_simd_f32s(ws[0]).1.len();
    let mut sums = TileSums { sums: [[0.0; ROW_TILE]; OUTPUT_TILE], rows: R };
    for k in 0..O {
        for j in 0..R {
            let rest: f32 = ws[k][tail..].iter().zip(&rs[j][tail..]).map(|(a, b)| a * b).sum();
            sums.sums[k][j] = simd.reduce_sum_f32s(acc[k][j]) + rest;
        }
    }
    sums
}

/// bf16 bits to f32: the bf16 is the f32's upper half.
#[inline(always)]
fn widen(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes that exercise every tile shape, the scalar tail (37 is not a
    /// multiple of any vector width) and a last task with an odd output count.
    #[test]
    fn matches_a_plain_product_with_the_rounded_weights() {
        let (out, inp) = (135, 37);
        let w: Vec<f32> = (0..out * inp).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
        let bias: Vec<f32> = (0..out).map(|o| o as f32 / 10.0).collect();
        let m = Bf16Matrix::from_f32(&w, out, inp);
        let rounded = m.to_f32();
        for (a, b) in w.iter().zip(&rounded) {
            assert!((a - b).abs() <= a.abs() / 256.0, "{a} rounded to {b}");
        }
        for rows in [1, 3, 4, 9] {
            let x: Vec<f32> = (0..rows * inp).map(|i| ((i * 104_729) % 89) as f32 / 40.0 - 1.1).collect();
            let y = m.forward(&x, rows, &bias);
            for r in 0..rows {
                for o in 0..out {
                    let want: f32 = (0..inp).map(|i| x[r * inp + i] * rounded[o * inp + i]).sum::<f32>() + bias[o];
                    let got = y[r * out + o];
                    assert!((got - want).abs() < 1e-4, "{rows} rows, row {r} out {o}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn no_rows_gives_no_output() {
        let m = Bf16Matrix::from_f32(&[1.0; 6], 2, 3);
        assert!(m.forward(&[], 0, &[0.0, 0.0]).is_empty());
    }
}
