//! The orders the scenario table can list the joint states in: the tutorial's, or by one column's
//! value (data, score, energy, Gibbs frequency), ties always kept in the tutorial's order.

use super::data::ToyDataset;
use super::rbm::ToyRbm;

/// What the scenario table is sorted by. Score, `exp(score)` and probability all order the
/// states as [`ScenarioOrder::Score`] does, so they share it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScenarioOrder {
    /// Fewer active units first, then by name ([`super::rbm::tutorial_order`]).
    Tutorial,
    /// Scenarios whose visible part is not a data row first, then those whose part is.
    Data,
    /// Lowest score first.
    Score,
    /// Lowest energy (highest score) first.
    Energy,
    /// Least visited by the Gibbs chain first; the tutorial's order while there are no visits.
    Gibbs,
}

/// The joint states of `rbm` sorted by `order`, reversed when `descending`.
///
/// `scores` and `gibbs` (visit frequencies) are indexed by state mask, like
/// [`super::rbm::Enumeration::scores`] and [`super::gibbs::GibbsChain::frequencies`]. The sort is
/// stable on top of the tutorial's order, so ties keep that order (and reverse with it).
///
/// # Panics
/// If `scores`, or `gibbs` when sorting by it, has fewer entries than `rbm` has joint states.
pub fn sorted_scenarios(
    rbm: &ToyRbm,
    scores: &[f64],
    data: &ToyDataset,
    gibbs: Option<&[f64]>,
    order: ScenarioOrder,
    descending: bool,
) -> Vec<u32> {
    let mut states = rbm.states_in_tutorial_order();
    let by_value = |values: &[f64], x: u32, y: u32| values[x as usize].total_cmp(&values[y as usize]);
    match order {
        ScenarioOrder::Tutorial => {}
        ScenarioOrder::Data => states.sort_by_key(|&s| data.contains(rbm.visible_part(s))),
        ScenarioOrder::Score => states.sort_by(|&x, &y| by_value(scores, x, y)),
        ScenarioOrder::Energy => states.sort_by(|&x, &y| by_value(scores, y, x)),
        ScenarioOrder::Gibbs => {
            if let Some(frequencies) = gibbs {
                states.sort_by(|&x, &y| by_value(frequencies, x, y));
            }
        }
    }
    if descending {
        states.reverse();
    }
    states
}
