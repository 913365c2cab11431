//! Which (experiment, metric, arm) pairs get a deep dive: those the scan flags (the detection
//! test or any dimension significant after the correction), strongest evidence (smallest
//! q-value) first, capped, plus every pair the user names.

use crate::config::{DeepDiveConfig, Selection};
use crate::error::DeepDiveError;
use cateye_scan::{DimensionRow, ScanResult};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A pair chosen for a deep dive and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelectedPair {
    /// Experiment id.
    pub experiment: String,
    /// Metric column.
    pub metric: String,
    /// Label of the treatment arm.
    pub arm: String,
    /// `flagged` or `requested` (a requested pair that is also flagged is `flagged`).
    pub reason: String,
    /// Smallest q-value among the pair's detection and dimension tests.
    pub evidence_q: f64,
    /// The tests that flagged it, e.g. `detection`, `dimension:country`.
    pub flagged_by: Vec<String>,
}

/// What the selection did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SelectionSummary {
    /// The selection setting: `all`, `none` or the cap N.
    pub setting: String,
    /// Number of pairs the scan flagged.
    pub flagged: usize,
    /// The pairs analysed: flagged ones within the cap, strongest first, then requested ones.
    pub selected: Vec<SelectedPair>,
    /// Flagged pairs left out by the cap, strongest first.
    pub not_selected: Vec<SelectedPair>,
}

/// Every pair of the scan with its evidence, flagged ones first by q-value. Linear in the number
/// of tests: the dimension rows are grouped by pair once.
fn candidates(result: &ScanResult, alpha: f64) -> Vec<SelectedPair> {
    let mut by_pair: HashMap<(&str, &str, &str), Vec<&DimensionRow>> = HashMap::new();
    for r in &result.dimensions {
        by_pair.entry((r.experiment.as_str(), r.metric.as_str(), r.arm.as_str())).or_default().push(r);
    }
    let mut pairs: Vec<SelectedPair> = result
        .detection
        .iter()
        .map(|d| {
            let mut pair = SelectedPair {
                experiment: d.experiment.clone(),
                metric: d.metric.clone(),
                arm: d.arm.clone(),
                reason: String::new(),
                evidence_q: if d.test.is_some() { d.q_value } else { 1.0 },
                flagged_by: Vec::new(),
            };
            if d.test.is_some() && d.q_value <= alpha {
                pair.flagged_by.push("detection".into());
            }
            let key = (d.experiment.as_str(), d.metric.as_str(), d.arm.as_str());
            for r in by_pair.get(&key).map_or(&[][..], Vec::as_slice) {
                if r.test.is_some() {
                    pair.evidence_q = pair.evidence_q.min(r.q_value);
                }
                if r.flagged {
                    pair.flagged_by.push(format!("dimension:{}", r.dimension));
                }
            }
            pair
        })
        .collect();
    pairs.sort_by(|a, b| {
        a.flagged_by.is_empty().cmp(&b.flagged_by.is_empty()).then(a.evidence_q.total_cmp(&b.evidence_q))
    });
    pairs
}

/// Choose the pairs under `config`; a requested pair the scan does not know is an error naming
/// it and listing what exists.
pub fn select_pairs(
    result: &ScanResult,
    config: &DeepDiveConfig,
    alpha: f64,
) -> Result<SelectionSummary, DeepDiveError> {
    let all = candidates(result, alpha);
    let flagged: Vec<SelectedPair> = all.iter().filter(|p| !p.flagged_by.is_empty()).cloned().collect();
    let cap = match config.pairs {
        Selection::All => flagged.len(),
        Selection::None => 0,
        Selection::Top(n) => n.min(flagged.len()),
    };
    let mut selected: Vec<SelectedPair> =
        flagged[..cap].iter().cloned().map(|p| SelectedPair { reason: "flagged".into(), ..p }).collect();
    let mut not_selected = flagged[cap..].to_vec();
    for request in &config.requested {
        let parts: Vec<&str> = request.split(':').collect();
        let (experiment, metric, arm) = match parts.as_slice() {
            [e, m] => (*e, *m, None),
            [e, m, a] => (*e, *m, Some(*a)),
            _ => {
                return Err(DeepDiveError::Request {
                    request: request.clone(),
                    problem: "expected experiment:metric or experiment:metric:arm".into(),
                })
            }
        };
        let matching: Vec<&SelectedPair> = all
            .iter()
            .filter(|p| p.experiment == experiment && p.metric == metric && arm.is_none_or(|a| a == p.arm))
            .collect();
        if matching.is_empty() {
            let known: Vec<String> =
                all.iter().take(12).map(|p| format!("{}:{}:{}", p.experiment, p.metric, p.arm)).collect();
            return Err(DeepDiveError::Request {
                request: request.clone(),
                problem: format!(
                    "no such experiment, metric and arm in the scan (e.g. {}{})",
                    known.join(", "),
                    if all.len() > 12 { ", ..." } else { "" }
                ),
            });
        }
        for p in matching {
            let same = |s: &SelectedPair| s.experiment == p.experiment && s.metric == p.metric && s.arm == p.arm;
            if selected.iter().any(same) {
                continue;
            }
            // A flagged pair beyond the cap that is also requested is analysed as flagged.
            let reason = if p.flagged_by.is_empty() { "requested" } else { "flagged" };
            not_selected.retain(|s| !same(s));
            selected.push(SelectedPair { reason: reason.into(), ..p.clone() });
        }
    }
    Ok(SelectionSummary { setting: config.pairs.to_string(), flagged: flagged.len(), selected, not_selected })
}
