//! Exact split search on units sorted by fine code (a counting sort for few codes, else a
//! comparison sort), scanned in code order: the sort of `grow_small`'s lists and of the small
//! nodes of `grow_by_subtraction`.

use super::*;

/// The exact search on covariate `f`: the node's `units` sorted by fine code, with their
/// per-unit sums `unit` (position-aligned with `units`); missing values sort last.
pub(crate) fn scan_sorted<O: Objective>(
    rule: &SplitRule,
    node: &NodeLimits<O::Sums>,
    features: &BinnedFeatures,
    f: usize,
    units: &[u32],
    unit: &[O::Sums],
    sort: &mut SortBuffers,
) -> Option<Candidate> {
    sort_by_code(features.column(f), features.num_bins(f), features.has_missing(f), units, sort);
    let present = sort.keys.partition_point(|&key| key >> 16 < MISSING as u32);
    let (keys, missing_keys) = sort.keys.split_at(present);
    let mut missing = O::Sums::default();
    for &key in missing_keys {
        missing.add(&unit[(key & 0xffff) as usize]);
    }
    scan_with_missing::<O>(
        rule,
        node,
        keys.iter().map(|&key| ((key >> 16) as u16, unit[(key & 0xffff) as usize])),
        &missing,
    )
}

/// Keys `code << 16 | position` of the node's units, sorted: units in code order. Only used
/// for nodes smaller than half the bins (< 32,768 units), so positions fit in 16 bits.
/// Nodes of at least 48 units on a covariate with at most 1,024 codes and no missing value
/// use a stable counting sort instead (the same order, without comparisons).
pub(crate) fn sort_by_code(codes: &[u16], num_codes: usize, missing: bool, units: &[u32], buffers: &mut SortBuffers) {
    debug_assert!(units.len() <= 1 << 16);
    let SortBuffers { keys, counts, sorted } = buffers;
    keys.clear();
    keys.extend(units.iter().enumerate().map(|(k, &u)| {
        if let Some(&ahead) = units.get(k + PREFETCH_AHEAD) {
            prefetch(&codes[ahead as usize]);
        }
        (codes[u as usize] as u32) << 16 | k as u32
    }));
    if units.len() < 48 || num_codes > 1024 || missing {
        keys.sort_unstable();
        return;
    }
    counts.clear();
    counts.resize(num_codes + 1, 0);
    for &key in keys.iter() {
        counts[(key >> 16) as usize + 1] += 1;
    }
    for b in 0..num_codes {
        counts[b + 1] += counts[b];
    }
    sorted.clear();
    sorted.resize(keys.len(), 0);
    for &key in keys.iter() {
        let slot = &mut counts[(key >> 16) as usize];
        sorted[*slot as usize] = key;
        *slot += 1;
    }
    std::mem::swap(keys, sorted);
}

/// Buffers of `sort_by_code`: the sorted keys end up in `keys`.
#[derive(Default)]
pub(crate) struct SortBuffers {
    pub(crate) keys: Vec<u32>,
    pub(crate) counts: Vec<u32>,
    pub(crate) sorted: Vec<u32>,
}
