//! Nearest training sentences in embedding space, as a vote over intents.
//!
//! A sentence close to many training sentences of one intent gets a peaked
//! vote; a sentence far from all of them (out of scope) gets a flat one, which
//! lowers its confidence below the out-of-scope threshold. The vote is mixed
//! into the other layers' probabilities with a weight tuned on validation data.

use crate::vector::dot;
use serde::{Deserialize, Serialize};

/// Neighbours that vote.
const K: usize = 10;
/// Softmax temperature over cosine similarities: 0.05 lets a neighbour at 0.9
/// outvote one at 0.8 about 7 to 1.
const TEMPERATURE: f32 = 0.05;

/// The training sentences' embeddings (unit length) and intents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Knn {
    dim: usize,
    vecs: Vec<f32>,
    labels: Vec<u32>,
    classes: usize,
}

impl Knn {
    /// Indexes the first `dim` values of each of `vecs` (a unit-length
    /// embedding, perhaps followed by other features) with their class ids.
    pub fn new(vecs: &[Vec<f32>], dim: usize, labels: &[usize], classes: usize) -> Self {
        let mut flat = Vec::with_capacity(vecs.len() * dim);
        let mut keep = Vec::with_capacity(vecs.len());
        for (v, &y) in vecs.iter().zip(labels) {
            if let Some(v) = v.get(..dim) {
                flat.extend_from_slice(v);
                keep.push(u32::try_from(y).unwrap_or(u32::MAX));
            }
        }
        Knn { dim, vecs: flat, labels: keep, classes }
    }

    /// The vote of the `K` nearest training sentences, over all classes (sums to 1),
    /// by the first `dim` values of `v` (as indexed).
    /// `skip` leaves one training sentence out (to score the training data itself).
    pub fn vote(&self, v: &[f32], skip: Option<usize>) -> Vec<f32> {
        let mut out = vec![0.0; self.classes];
        let Some(v) = v.get(..self.dim) else { return out };
        if self.dim == 0 || self.classes == 0 {
            return out;
        }
        // The K best (similarity, row) pairs, kept sorted, best first.
        let mut best: Vec<(f32, usize)> = Vec::with_capacity(K + 1);
        for (row, chunk) in self.vecs.chunks_exact(self.dim).enumerate() {
            if Some(row) == skip {
                continue;
            }
            let sim = dot(chunk, v);
            if best.len() < K || sim > best[best.len() - 1].0 {
                let at = best.partition_point(|(s, _)| *s >= sim);
                best.insert(at, (sim, row));
                best.truncate(K);
            }
        }
        let Some(&(top, _)) = best.first() else { return out };
        let mut total = 0.0;
        for (sim, row) in best {
            let w = ((sim - top) / TEMPERATURE).exp();
            if let Some(slot) = out.get_mut(self.labels[row] as usize) {
                *slot += w;
                total += w;
            }
        }
        // Scale by how close the nearest neighbour is: far from everything, a weak vote.
        let closeness = top.clamp(0.0, 1.0);
        if total > 0.0 {
            for p in &mut out {
                *p *= closeness / total;
            }
            let rest = (1.0 - closeness) / self.classes as f32;
            for p in &mut out {
                *p += rest;
            }
        }
        out
    }

    /// Training sentences indexed.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// `(1 - w) · p + w · vote`.
pub fn blend(p: &[f32], vote: &[f32], w: f32) -> Vec<f32> {
    p.iter().zip(vote).map(|(a, b)| (1.0 - w) * a + w * b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn close_sentences_vote_for_their_class_and_far_ones_vote_flat() {
        let vecs = vec![unit(&[1.0, 0.0, 0.0]), unit(&[0.9, 0.1, 0.0]), unit(&[0.0, 1.0, 0.0])];
        let knn = Knn::new(&vecs, 3, &[0, 0, 1], 2);
        let near = knn.vote(&unit(&[1.0, 0.05, 0.0]), None);
        assert!(near[0] > 0.9, "{near:?}");
        let far = knn.vote(&unit(&[0.0, 0.0, 1.0]), None);
        assert!((far[0] - far[1]).abs() < 0.01, "{far:?}");
        assert!((far.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        let skipped = knn.vote(&vecs[2], Some(2));
        assert!(skipped[1] < skipped[0], "without itself class 1 has no close neighbour: {skipped:?}");
    }
}
