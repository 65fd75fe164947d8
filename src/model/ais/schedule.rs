//! The inverse-temperature schedules of an annealing run ([`BetaSchedule`]): the paper's, uniform
//! ones, and any non-decreasing one from 0 to 1.

use crate::model::eval::EvalError;

/// Inverse temperatures 0 = β_0 ≤ β_1 ≤ … ≤ β_K = 1 (at least two values).
#[derive(Clone, Debug, PartialEq)]
pub struct BetaSchedule {
    betas: Vec<f64>,
}

impl BetaSchedule {
    /// Betas in [`BetaSchedule::salakhutdinov_murray`].
    pub const SALAKHUTDINOV_MURRAY_LEN: usize = 14_501;

    /// The paper's schedule: steps of 1e-3 from 0 to 0.5, 1e-4 from 0.5 to 0.9 and 1e-5 from 0.9 to
    /// 1: 14,501 betas (14,500 steps). Each β is computed as an integer over a power of ten, so the
    /// joins fall exactly on 0.5 and 0.9 (and are not repeated, unlike MATLAB's concatenation).
    pub fn salakhutdinov_murray() -> Self {
        let mut betas: Vec<f64> = (0..500).map(|i| i as f64 / 1e3).collect();
        betas.extend((5_000..9_000).map(|i| i as f64 / 1e4));
        betas.extend((90_000..=100_000).map(|i| i as f64 / 1e5));
        Self { betas }
    }

    /// `n` equally spaced betas from 0 to 1 inclusive (`n − 1` steps).
    ///
    /// # Errors
    /// [`EvalError::Schedule`] when `n < 2`.
    pub fn uniform(n: usize) -> Result<Self, EvalError> {
        if n < 2 {
            return Err(EvalError::Schedule("a schedule needs at least two betas (0 and 1)"));
        }
        let last = (n - 1) as f64;
        Ok(Self { betas: (0..n).map(|i| i as f64 / last).collect() })
    }

    /// Any schedule that starts at 0, ends at 1 and never decreases.
    ///
    /// # Errors
    /// [`EvalError::Schedule`] otherwise.
    pub fn from_betas(betas: Vec<f64>) -> Result<Self, EvalError> {
        if betas.len() < 2 {
            return Err(EvalError::Schedule("a schedule needs at least two betas (0 and 1)"));
        }
        if betas[0] != 0.0 || betas[betas.len() - 1] != 1.0 {
            return Err(EvalError::Schedule("a schedule must start at 0 and end at 1"));
        }
        if betas.windows(2).any(|p| p[0].partial_cmp(&p[1]).is_none_or(|o| o.is_gt())) {
            return Err(EvalError::Schedule("betas must be finite and never decrease"));
        }
        Ok(Self { betas })
    }

    pub fn betas(&self) -> &[f64] {
        &self.betas
    }

    /// Number of betas (steps + 1).
    pub fn len(&self) -> usize {
        self.betas.len()
    }

    /// Always false: a schedule has at least two betas.
    pub fn is_empty(&self) -> bool {
        self.betas.is_empty()
    }
}
