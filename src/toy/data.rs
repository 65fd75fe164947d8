//! The toy's training data: rows of visible bits, as the tutorial writes them (`101`, `010`, ...),
//! and the numbers that compare two distributions (data with model: frequencies, KL divergence;
//! Gibbs visits with exact probabilities: largest difference, total variation).

/// Most rows a user-entered dataset may have; a guard against pasting something huge into a field
/// whose rows are walked one by one on screen.
pub const MAX_ROWS: usize = 256;

/// Why a typed dataset was rejected; shown under the text field as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    /// Nothing but separators.
    #[error("the dataset is empty: type rows such as 101, 010")]
    Empty,
    /// A row of the wrong length for the current number of visible units.
    #[error("row {row} (\"{text}\") has {found} digits, expected {expected} (one per visible unit)")]
    WrongLength {
        /// 1-based row number.
        row: usize,
        /// The row as typed.
        text: String,
        /// Digits found.
        found: usize,
        /// Visible units.
        expected: usize,
    },
    /// A character other than 0 or 1 inside a row.
    #[error("row {row} (\"{text}\") may only contain 0 and 1")]
    NotBinary {
        /// 1-based row number.
        row: usize,
        /// The row as typed.
        text: String,
    },
    /// More than [`MAX_ROWS`] rows.
    #[error("{found} rows is too many: at most {MAX_ROWS}")]
    TooManyRows {
        /// Rows found.
        found: usize,
    },
}

/// Rows of visible configurations (bit `i` = visible unit `i`, unit A = first digit typed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToyDataset {
    n_visible: usize,
    rows: Vec<u32>,
}

impl ToyDataset {
    /// The tutorial's six rows: A and C like the same things, B the opposite.
    pub fn tutorial() -> Self {
        Self::parse("101, 010, 101, 101, 010, 101", 3).expect("the tutorial's rows are valid")
    }

    /// The tutorial's pattern carried to `n_visible` units: units A, C, E, ... together (4 rows)
    /// and their complement B, D, ... (2 rows), so a resized model has something sensible to learn.
    /// For 3 units this is exactly [`ToyDataset::tutorial`].
    pub fn alternating(n_visible: usize) -> Self {
        let odd: u32 = (0..n_visible).step_by(2).map(|i| 1 << i).sum();
        let even: u32 = ((1u32 << n_visible) - 1) & !odd;
        Self { n_visible, rows: vec![odd, even, odd, odd, even, odd] }
    }

    /// Parse rows of 0/1 digits separated by commas, semicolons or whitespace.
    pub fn parse(text: &str, n_visible: usize) -> Result<Self, DatasetError> {
        let tokens: Vec<&str> =
            text.split(|c: char| c == ',' || c == ';' || c.is_whitespace()).filter(|t| !t.is_empty()).collect();
        if tokens.is_empty() {
            return Err(DatasetError::Empty);
        }
        if tokens.len() > MAX_ROWS {
            return Err(DatasetError::TooManyRows { found: tokens.len() });
        }
        let mut rows = Vec::with_capacity(tokens.len());
        for (index, token) in tokens.iter().enumerate() {
            let row = index + 1;
            if !token.chars().all(|c| c == '0' || c == '1') {
                return Err(DatasetError::NotBinary { row, text: (*token).to_owned() });
            }
            let found = token.chars().count();
            if found != n_visible {
                return Err(DatasetError::WrongLength { row, text: (*token).to_owned(), found, expected: n_visible });
            }
            let mask = token.chars().enumerate().filter(|&(_, c)| c == '1').map(|(i, _)| 1u32 << i).sum();
            rows.push(mask);
        }
        Ok(Self { n_visible, rows })
    }

    /// The rows written back as text, e.g. `101, 010, 101`.
    pub fn to_text(&self) -> String {
        self.rows
            .iter()
            .map(|&row| (0..self.n_visible).map(|i| if row >> i & 1 == 1 { '1' } else { '0' }).collect::<String>())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Number of visible units each row has.
    pub fn n_visible(&self) -> usize {
        self.n_visible
    }

    /// The rows as visible-configuration masks.
    pub fn rows(&self) -> &[u32] {
        &self.rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows (never true for a parsed dataset).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Empirical distribution over visible configurations: 4/6 for `101` and 2/6 for `010` in the
    /// tutorial.
    pub fn frequencies(&self) -> Vec<f64> {
        let mut freq = vec![0.0; 1 << self.n_visible];
        let weight = 1.0 / self.rows.len() as f64;
        for &row in &self.rows {
            freq[row as usize] += weight;
        }
        freq
    }

    /// Number of rows equal to the visible configuration `visible`.
    pub fn count(&self, visible: u32) -> usize {
        self.rows.iter().filter(|&&row| row == visible).count()
    }

    /// The share of rows equal to `visible` as the tutorial writes it: `4/6`, or `0` if none.
    pub fn fraction_text(&self, visible: u32) -> String {
        match self.count(visible) {
            0 => "0".to_owned(),
            count => format!("{count}/{}", self.len()),
        }
    }

    /// Whether a visible configuration occurs in the data: the tutorial's "agrees with the data".
    pub fn contains(&self, visible: u32) -> bool {
        self.rows.contains(&visible)
    }
}

impl Default for ToyDataset {
    fn default() -> Self {
        Self::tutorial()
    }
}

/// `KL(p || q) = Σ p ln(p / q)` in nats, with `0 ln 0 = 0`. Infinite if `q` misses mass of `p`.
///
/// Measured as KL(data || model): the quantity exact maximum-likelihood training minimises.
pub fn kl_divergence(p: &[f64], q: &[f64]) -> f64 {
    p.iter().zip(q).filter(|&(&pi, _)| pi > 0.0).map(|(&pi, &qi)| pi * (pi / qi).ln()).sum()
}

/// Model probability mass on the configurations that occur in the data.
pub fn mass_on_data(data: &ToyDataset, visible_marginals: &[f64]) -> f64 {
    visible_marginals.iter().enumerate().filter(|&(v, _)| data.contains(v as u32)).map(|(_, p)| p).sum()
}

/// How far apart two distributions over the same states are, in the two ways the explorer shows
/// a Gibbs chain's visit frequencies against the exact probabilities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Discrepancy {
    /// Largest `|p_s - q_s|` over the states.
    pub largest_difference: f64,
    /// Total variation distance `½ Σ_s |p_s - q_s|`: the most any set of states' probability
    /// differs by between the two.
    pub total_variation: f64,
}

/// [`Discrepancy`] between `p` and `q`, over the states both have.
pub fn discrepancy(p: &[f64], q: &[f64]) -> Discrepancy {
    let mut largest_difference: f64 = 0.0;
    let mut sum = 0.0;
    for (x, y) in p.iter().zip(q) {
        largest_difference = largest_difference.max((x - y).abs());
        sum += (x - y).abs();
    }
    Discrepancy { largest_difference, total_variation: sum / 2.0 }
}
