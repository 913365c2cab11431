//! The cluster column: each row's cluster, as a dense code into the sorted cluster labels.
//!
//! Clusters are non-sensitive groupings of the units (a country, a region, a community of a
//! graph, as in the paper's setting), given before the experiment. The mechanism builds one
//! response distribution per cluster and arm; the estimator stratifies on them.

use crate::error::{PrivacyError, Result};
use std::collections::HashMap;

/// Each row's cluster. Labels are kept sorted so that codes (and the random streams keyed by
/// them) do not depend on row order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clusters {
    codes: Vec<u32>,
    labels: Vec<String>,
}

impl Clusters {
    /// Clusters from one label per row (strings; a command line reads them from a column).
    pub fn from_labels<S: AsRef<str>>(labels: &[S]) -> Result<Self> {
        let mut seen: HashMap<&str, u32> = HashMap::new();
        let mut first: Vec<&str> = Vec::new();
        let mut raw = Vec::with_capacity(labels.len());
        for label in labels {
            let label = label.as_ref();
            let next = first.len();
            let code = *seen.entry(label).or_insert_with(|| {
                first.push(label);
                next as u32
            });
            raw.push(code);
        }
        if first.len() > u32::MAX as usize {
            return Err(PrivacyError::Data(format!("{} clusters: at most {} are supported", first.len(), u32::MAX)));
        }
        let mut order: Vec<u32> = (0..first.len() as u32).collect();
        order.sort_by(|&a, &b| first[a as usize].cmp(first[b as usize]));
        let mut rank = vec![0u32; first.len()];
        for (r, &c) in order.iter().enumerate() {
            rank[c as usize] = r as u32;
        }
        Ok(Clusters {
            codes: raw.into_iter().map(|c| rank[c as usize]).collect(),
            labels: order.iter().map(|&c| first[c as usize].to_string()).collect(),
        })
    }

    /// Clusters from a dictionary: the distinct `labels` and each row's index into them (as a
    /// column reader gives them). Labels are re-sorted, so the codes do not depend on row order.
    pub fn from_dictionary(labels: &[String], codes: &[u32]) -> Result<Self> {
        if let Some((row, code)) = codes.iter().enumerate().find(|(_, &c)| c as usize >= labels.len()) {
            return Err(PrivacyError::Data(format!(
                "row {} has cluster code {code}, but there are {} labels",
                row + 1,
                labels.len()
            )));
        }
        let mut order: Vec<u32> = (0..labels.len() as u32).collect();
        order.sort_by(|&a, &b| labels[a as usize].cmp(&labels[b as usize]));
        if let Some(w) = order.windows(2).find(|w| labels[w[0] as usize] == labels[w[1] as usize]) {
            return Err(PrivacyError::Data(format!("cluster label '{}' is listed twice", labels[w[0] as usize])));
        }
        let mut rank = vec![0u32; labels.len()];
        for (r, &c) in order.iter().enumerate() {
            rank[c as usize] = r as u32;
        }
        Ok(Clusters {
            codes: codes.iter().map(|&c| rank[c as usize]).collect(),
            labels: order.iter().map(|&c| labels[c as usize].clone()).collect(),
        })
    }

    /// Clusters from integer ids, one per row; labels are the ids written in decimal and
    /// sorted numerically.
    pub fn from_integers(ids: &[i64]) -> Self {
        let mut distinct: Vec<i64> = ids.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let index: HashMap<i64, u32> = distinct.iter().enumerate().map(|(i, &id)| (id, i as u32)).collect();
        Clusters {
            codes: ids.iter().map(|id| index[id]).collect(),
            labels: distinct.iter().map(|id| id.to_string()).collect(),
        }
    }

    /// Every one of `n` rows in one cluster labelled `all` (the cluster-free case).
    pub fn single(n: usize) -> Self {
        Clusters { codes: vec![0; n], labels: vec!["all".to_string()] }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The number of distinct clusters.
    pub fn count(&self) -> usize {
        self.labels.len()
    }

    /// The cluster labels, sorted; a row's code indexes this list.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Each row's cluster code (an index into [`Clusters::labels`]).
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }

    /// The code of the cluster labelled `label`, if any (a linear search).
    pub fn code_of(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_sorted_labels() {
        let c = Clusters::from_labels(&["b", "a", "b", "c"]).unwrap();
        assert_eq!(c.labels(), &["a", "b", "c"]);
        assert_eq!(c.codes(), &[1, 0, 1, 2]);
        assert_eq!(c.code_of("c"), Some(2));
        assert_eq!(c.code_of("z"), None);
        let i = Clusters::from_integers(&[10, -2, 10, 3]);
        assert_eq!(i.labels(), &["-2", "3", "10"]);
        assert_eq!(i.codes(), &[2, 0, 2, 1]);
        assert_eq!(i.code_of("10"), Some(2));
        assert_eq!(Clusters::single(3).codes(), &[0, 0, 0]);
    }

    #[test]
    fn a_dictionary_gives_the_codes_of_its_labels() {
        let labels: Vec<String> = ["b", "a", "c"].iter().map(|s| s.to_string()).collect();
        let c = Clusters::from_dictionary(&labels, &[0, 1, 0, 2]).unwrap();
        assert_eq!(c, Clusters::from_labels(&["b", "a", "b", "c"]).unwrap());
        let twice: Vec<String> = ["a", "a"].iter().map(|s| s.to_string()).collect();
        assert!(Clusters::from_dictionary(&twice, &[0, 1]).unwrap_err().to_string().contains("'a' is listed twice"));
        assert!(Clusters::from_dictionary(&labels, &[3]).unwrap_err().to_string().contains("row 1"));
    }
}
