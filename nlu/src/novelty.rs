//! How far a sentence's embedding lies from every intent seen in training: a
//! Mahalanobis distance to the nearest class mean, under one covariance shared
//! by all classes.
//!
//! The classifiers' probabilities say which intent a sentence is most like,
//! not whether it is like any of them: softmax spreads all the mass over the
//! known intents even for a sentence unlike all of them. The distance does
//! measure that, and the engine turns it into a factor that discounts the
//! confidence of sentences farther out than the training sentences are, so
//! that more of the out-of-scope ones fall below the threshold.

use crate::vector::dot;
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// Class means and the whitening that turns the shared covariance into the identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Novelty {
    dim: usize,
    /// `L⁻¹` of the Cholesky factor of the shrunk covariance, row-major `dim × dim`.
    whiten: Vec<f32>,
    /// The whitened class means, row-major, one row per class seen.
    means: Vec<f32>,
    /// Their squared norms.
    norms: Vec<f32>,
    /// The mean distance of the training sentences themselves.
    centre: f32,
    /// How steeply the discount falls beyond `centre` (0: no discount).
    weight: f32,
}

impl Novelty {
    /// Fits on the first `dim` values of each of `vecs`, skipping those whose
    /// label is `skip` (the out-of-scope class, which has no centre). The
    /// covariance is shrunk towards a multiple of the identity (by its mean
    /// variance), which keeps it invertible with few sentences per class and
    /// keeps the directions rarely seen in training from dominating. `None`
    /// when there is nothing to fit.
    pub fn fit(vecs: &[Vec<f32>], dim: usize, labels: &[usize], skip: Option<usize>) -> Option<Self> {
        let rows: Vec<(&[f32], usize)> = vecs
            .iter()
            .zip(labels)
            .filter(|(_, y)| Some(**y) != skip)
            .filter_map(|(v, &y)| Some((v.get(..dim)?, y)))
            .collect();
        if dim == 0 || rows.len() < 2 {
            return None;
        }
        let classes: Vec<usize> = {
            let mut c: Vec<usize> = rows.iter().map(|r| r.1).collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        let mut sums = DMatrix::<f64>::zeros(classes.len(), dim);
        let mut counts = vec![0usize; classes.len()];
        let index = |y: usize| classes.binary_search(&y).unwrap_or(0);
        for (v, y) in &rows {
            let c = index(*y);
            counts[c] += 1;
            for (j, x) in v.iter().enumerate() {
                sums[(c, j)] += f64::from(*x);
            }
        }
        let means = DMatrix::from_fn(classes.len(), dim, |c, j| sums[(c, j)] / counts[c].max(1) as f64);
        let residuals =
            DMatrix::from_fn(rows.len(), dim, |i, j| f64::from(rows[i].0[j]) - means[(index(rows[i].1), j)]);
        let mut cov = residuals.tr_mul(&residuals) / rows.len() as f64;
        let shrink = cov.trace() / dim as f64;
        if shrink.is_nan() || shrink <= 0.0 {
            return None;
        }
        for j in 0..dim {
            cov[(j, j)] += shrink;
        }
        let l = cov.cholesky()?.unpack();
        let whiten = l.solve_lower_triangular(&DMatrix::identity(dim, dim))?;
        let white_means = &means * whiten.transpose();
        let to_f32 = |m: &DMatrix<f64>| -> Vec<f32> {
            (0..m.nrows()).flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)] as f32)).collect()
        };
        let means = to_f32(&white_means);
        let norms = means.chunks_exact(dim).map(|m| dot(m, m)).collect();
        let mut out = Novelty { dim, whiten: to_f32(&whiten), means, norms, centre: 0.0, weight: 0.0 };
        out.centre = rows.iter().map(|(v, _)| out.distance(v)).sum::<f32>() / rows.len() as f32;
        Some(out)
    }

    /// The squared Mahalanobis distance from the first `dim` values of `v` to
    /// the nearest class mean, divided by `dim` (so about 1 for a sentence as
    /// far out as a typical one).
    pub fn distance(&self, v: &[f32]) -> f32 {
        let Some(v) = v.get(..self.dim) else { return 0.0 };
        let y: Vec<f32> = self.whiten.chunks_exact(self.dim).map(|row| dot(row, v)).collect();
        let yy = dot(&y, &y);
        let nearest = self
            .means
            .chunks_exact(self.dim)
            .zip(&self.norms)
            .map(|(m, n)| yy - 2.0 * dot(&y, m) + n)
            .fold(f32::INFINITY, f32::min);
        nearest.max(0.0) / self.dim as f32
    }

    /// The same, discounting at `weight` (as tuned on validation data).
    pub fn with_weight(self, weight: f32) -> Self {
        Novelty { weight, ..self }
    }

    /// The weight of the discount.
    pub fn weight(&self) -> f32 {
        self.weight
    }

    /// The factor (at most 1) by which `v`'s confidences are discounted: 1 up
    /// to the training sentences' mean distance, then falling exponentially,
    /// at the weight, with the distance beyond it.
    pub fn factor(&self, v: &[f32]) -> f32 {
        Self::discount(self.distance(v), self.centre, self.weight)
    }

    /// The factor for a sentence at `distance`, at weight `beta` (see `factor`).
    pub fn discount(distance: f32, centre: f32, beta: f32) -> f32 {
        (-beta * (distance - centre)).exp().min(1.0)
    }

    /// The training sentences' mean distance.
    pub fn centre(&self) -> f32 {
        self.centre
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two tight clusters in 3-d, along x and along y.
    fn fitted() -> Novelty {
        let mut vecs = Vec::new();
        let mut labels = Vec::new();
        for i in 0..20 {
            let e = (i as f32 - 10.0) * 0.005;
            vecs.push(vec![1.0 + e, e, -e]);
            labels.push(0);
            vecs.push(vec![e, 1.0 - e, e]);
            labels.push(1);
        }
        // An out-of-scope sentence, skipped: it must not become a centre.
        vecs.push(vec![0.0, 0.0, 1.0]);
        labels.push(2);
        Novelty::fit(&vecs, 3, &labels, Some(2)).expect("fits")
    }

    #[test]
    fn sentences_near_a_class_are_not_discounted_and_far_ones_are() {
        let n = fitted().with_weight(1.0);
        assert_eq!(n.factor(&[1.0, 0.0, 0.0]), 1.0);
        assert_eq!(n.factor(&[0.0, 1.0, 0.0]), 1.0);
        let far = n.factor(&[0.0, 0.0, 1.0]);
        assert!(far < 0.5, "far factor {far}");
        assert!(n.distance(&[0.0, 0.0, 1.0]) > n.distance(&[0.5, 0.5, 0.0]));
    }

    #[test]
    fn a_zero_weight_never_discounts() {
        assert_eq!(fitted().factor(&[0.0, 0.0, 1.0]), 1.0);
        assert_eq!(fitted().with_weight(0.0).factor(&[0.0, 0.0, 1.0]), 1.0);
    }

    #[test]
    fn nothing_to_fit_gives_none() {
        assert!(Novelty::fit(&[], 3, &[], None).is_none());
        assert!(Novelty::fit(&[vec![0.0; 3], vec![0.0; 3]], 3, &[0, 0], None).is_none());
        assert!(Novelty::fit(&[vec![1.0, 0.0], vec![0.0, 1.0]], 0, &[0, 1], None).is_none());
    }

    #[test]
    fn short_vectors_are_ignored_not_a_panic() {
        let n = fitted();
        assert_eq!(n.distance(&[1.0]), 0.0);
    }
}
