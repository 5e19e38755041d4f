//! Cross-fitted word knowledge for training.
//!
//! The gazetteer and the lexicon are built from training data, so on a
//! training sentence they are never wrong: every name is listed, every context
//! word is known. A model trained on such features trusts them blindly and
//! fails on new names. So each training sentence sees the knowledge built from
//! the *other* folds, as incomplete as it will be on unseen text.

use crate::data::Example;
use crate::features::Lexicon;
use crate::fuzzy::Gazetteer;

/// What the feature extractors know about words.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// Names by entity kind.
    pub gazetteer: Gazetteer,
    /// Words seen outside slots.
    pub lexicon: Lexicon,
}

/// Per-fold knowledge and each example's fold.
#[derive(Debug)]
pub struct CrossFit {
    folds: Vec<Knowledge>,
    fold_of: Vec<usize>,
}

impl CrossFit {
    /// Splits `examples` into `k` folds (round-robin, deterministic). The gazetteer of a fold
    /// is `base`, plus, when `names_from_examples`, the slot values of the other folds.
    pub fn new(examples: &[Example], base: &Gazetteer, names_from_examples: bool, k: usize) -> Self {
        let k = k.max(2);
        let fold_of: Vec<usize> = (0..examples.len()).map(|i| i % k).collect();
        let folds = (0..k)
            .map(|f| {
                let others: Vec<Example> =
                    examples.iter().zip(&fold_of).filter(|(_, g)| **g != f).map(|(e, _)| e.clone()).collect();
                let mut gazetteer = base.clone();
                if names_from_examples {
                    crate::add_example_names(&mut gazetteer, &others);
                }
                Knowledge { gazetteer, lexicon: Lexicon::fit(&others) }
            })
            .collect();
        CrossFit { folds, fold_of }
    }

    /// The fold of example `i`.
    pub fn fold(&self, i: usize) -> usize {
        self.fold_of[i]
    }

    /// The knowledge that example `i` may see during training.
    pub fn for_example(&self, i: usize) -> &Knowledge {
        &self.folds[self.fold_of[i]]
    }
}
