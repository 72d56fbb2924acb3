//! L2-regularised logistic regression on sparse features, fitted by cyclic
//! coordinate descent: a one-dimensional Newton step per weight with a
//! backtracking line search. Deterministic (fixed order, no randomness) and
//! quick on sparse text features: one sweep costs a few passes over the
//! non-zero entries.
//!
//! Minimises `sum_i log(1 + exp(-y_i (b + w . x_i))) + l2 / 2 * |w|^2`
//! (the intercept `b` is not penalised), with labels `y_i` of +1 or -1.

/// Largest step one coordinate update may take.
const MAX_STEP: f64 = 4.0;
/// Sufficient-decrease factor of the line search.
const ARMIJO: f64 = 0.01;
/// Halvings the line search tries before leaving a weight as it is.
const MAX_HALVINGS: u32 = 30;

/// How to fit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FitOptions {
    /// Strength of the L2 penalty (> 0).
    pub(crate) l2: f64,
    /// Most sweeps over all weights.
    pub(crate) max_sweeps: usize,
    /// Converged once no weight moves more than this in a sweep.
    pub(crate) tolerance: f64,
}

/// A fitted model.
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    /// One weight per feature.
    pub(crate) weights: Vec<f64>,
    /// The intercept.
    pub(crate) intercept: f64,
    /// Sweeps run.
    pub(crate) sweeps: usize,
    /// Whether it met the tolerance before the sweep limit.
    pub(crate) converged: bool,
}

/// `log(1 + exp(x))` without overflow.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The logistic function.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The state of the descent: margins `b + w . x_i` and per-example losses.
struct Descent<'a> {
    labels: &'a [f64],
    margins: Vec<f64>,
    losses: Vec<f64>,
    trial: Vec<f64>,
}

impl Descent<'_> {
    /// Moves one coordinate whose non-zero entries are `rows` (row, value;
    /// every row with value 1 when `None`) and whose current weight and
    /// penalty are `weight` and `l2`. Returns the step taken.
    fn step(&mut self, rows: Option<&[(usize, f64)]>, weight: f64, l2: f64) -> f64 {
        let mut gradient = l2 * weight;
        let mut curvature = l2;
        self.for_rows(rows, |descent, row, value| {
            let p = sigmoid(descent.margins[row]);
            let y = descent.labels[row];
            gradient += value * if y > 0.0 { p - 1.0 } else { p };
            curvature += value * value * p * (1.0 - p);
        });
        let mut step = (-gradient / curvature.max(1e-12)).clamp(-MAX_STEP, MAX_STEP);
        for _ in 0..MAX_HALVINGS {
            if step.abs() < 1e-12 {
                break;
            }
            let mut change = l2 / 2.0 * ((weight + step).powi(2) - weight.powi(2));
            let mut at = 0;
            self.for_rows(rows, |descent, row, value| {
                let loss = softplus(-descent.labels[row] * (descent.margins[row] + step * value));
                change += loss - descent.losses[row];
                descent.trial[at] = loss;
                at += 1;
            });
            if change <= ARMIJO * step * gradient {
                let mut at = 0;
                self.for_rows(rows, |descent, row, value| {
                    descent.margins[row] += step * value;
                    descent.losses[row] = descent.trial[at];
                    at += 1;
                });
                return step;
            }
            step /= 2.0;
        }
        0.0
    }

    fn for_rows(&mut self, rows: Option<&[(usize, f64)]>, mut each: impl FnMut(&mut Self, usize, f64)) {
        match rows {
            Some(rows) => rows.iter().for_each(|&(row, value)| each(self, row, value)),
            None => (0..self.margins.len()).for_each(|row| each(self, row, 1.0)),
        }
    }
}

/// Fits weights for `documents` (per example, its non-zero features as
/// (feature number below `features`, value)) with `labels` of +1 or -1.
pub(crate) fn fit(
    documents: &[Vec<(usize, f64)>],
    labels: &[f64],
    features: usize,
    options: FitOptions,
) -> Fit {
    let mut columns = vec![Vec::new(); features];
    for (row, document) in documents.iter().enumerate() {
        for &(feature, value) in document {
            if value != 0.0 {
                columns[feature].push((row, value));
            }
        }
    }
    let mut descent = Descent {
        labels,
        margins: vec![0.0; labels.len()],
        losses: vec![std::f64::consts::LN_2; labels.len()],
        trial: vec![0.0; labels.len()],
    };
    let mut weights = vec![0.0; features];
    let mut intercept = 0.0;
    let mut sweeps = 0;
    let mut converged = false;
    while sweeps < options.max_sweeps && !converged {
        sweeps += 1;
        let step = descent.step(None, intercept, 0.0);
        intercept += step;
        let mut largest = step.abs();
        for (weight, rows) in weights.iter_mut().zip(&columns) {
            let step = descent.step(Some(rows), *weight, options.l2);
            *weight += step;
            largest = largest.max(step.abs());
        }
        converged = largest < options.tolerance;
    }
    Fit {
        weights,
        intercept,
        sweeps,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: FitOptions = FitOptions {
        l2: 1.0,
        max_sweeps: 500,
        tolerance: 1e-6,
    };

    #[test]
    fn intercept_alone_fits_the_base_rate() {
        let documents: Vec<Vec<(usize, f64)>> = vec![Vec::new(); 4];
        let fit = fit(&documents, &[1.0, 1.0, 1.0, -1.0], 0, OPTIONS);
        assert!((fit.intercept - 3f64.ln()).abs() < 1e-4, "{}", fit.intercept);
        assert!(fit.converged);
    }

    #[test]
    fn gradient_is_zero_at_the_fit() {
        // Feature 3 is real-valued (as the sentiment feature is).
        let documents = vec![
            vec![(0, 1.0), (3, -0.8)],
            vec![(0, 1.0), (1, 1.0), (3, 0.3)],
            vec![(1, 1.0), (3, 0.9)],
            vec![(1, 1.0), (2, 1.0)],
            vec![(2, 1.0), (3, -0.5)],
            vec![(0, 1.0), (2, 1.0), (3, 0.6)],
        ];
        let labels = [1.0, 1.0, -1.0, -1.0, 1.0, -1.0];
        let fit = fit(&documents, &labels, 4, OPTIONS);
        for feature in 0..4 {
            let mut gradient = OPTIONS.l2 * fit.weights[feature];
            for (document, &y) in documents.iter().zip(&labels) {
                let margin = fit.intercept + document.iter().map(|&(f, v)| fit.weights[f] * v).sum::<f64>();
                let value: f64 = document
                    .iter()
                    .filter(|(f, _)| *f == feature)
                    .map(|(_, v)| v)
                    .sum();
                gradient += -y * value * sigmoid(-y * margin);
            }
            assert!(gradient.abs() < 1e-4, "feature {feature}: {gradient}");
        }
        assert!(
            fit.weights[3] < 0.0,
            "negative sentiment goes with the positive label here"
        );
    }
}
