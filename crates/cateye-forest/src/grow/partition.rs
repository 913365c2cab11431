//! Branch-free partitions of a node's units and of its sorted lists (both sides written, one
//! cursor advanced: which side a unit goes to is unpredictable, and mispredicted branches cost
//! more than the extra stores).

use crate::binning::MISSING;
use crate::prefetch::{prefetch, PREFETCH_AHEAD};

/// Stable partition of `units` (and their local ids) by `goes_left[local id]`, branch-free;
/// returns the left count.
pub(crate) fn partition_by_flag(
    units: &mut [u32],
    unit_ids: &mut [u16],
    goes_left: &[bool],
    right_units: &mut Vec<u32>,
    right_ids: &mut Vec<u16>,
) -> usize {
    right_units.clear();
    right_units.resize(units.len(), 0);
    right_ids.clear();
    right_ids.resize(units.len(), 0);
    let (mut left, mut right) = (0, 0);
    for i in 0..units.len() {
        let (u, local) = (units[i], unit_ids[i]);
        let go = goes_left[local as usize];
        units[left] = u;
        unit_ids[left] = local;
        right_units[right] = u;
        right_ids[right] = local;
        left += go as usize;
        right += !go as usize;
    }
    units[left..].copy_from_slice(&right_units[..right]);
    unit_ids[left..].copy_from_slice(&right_ids[..right]);
    left
}

/// Stable partition of one covariate's sorted list of `code << 16 | local id` entries by
/// `goes_left[local id]` (both sides stay sorted). Branch-free: every entry is written to both
/// sides and only one cursor advances.
pub(crate) fn partition_list(entries: &mut [u32], goes_left: &[bool], right: &mut Vec<u32>) {
    if right.len() < entries.len() {
        right.resize(entries.len(), 0);
    }
    let (mut l, mut r) = (0, 0);
    for i in 0..entries.len() {
        let entry = entries[i];
        let go = goes_left[(entry & 0xffff) as usize];
        entries[l] = entry;
        right[r] = entry;
        l += go as usize;
        r += !go as usize;
    }
    entries[l..].copy_from_slice(&right[..r]);
}

/// Whether a unit with fine code `code` goes left at the split "code ≤ `bin`" whose missing
/// values go left when `missing_left` (branch-free).
#[inline(always)]
pub(crate) fn goes_left(code: u16, bin: u16, missing_left: bool) -> bool {
    (code <= bin) | ((code == MISSING) & missing_left)
}

/// Moves the units that go left (see `goes_left`) to the front, keeping the order on both sides
/// (so units stay ascending and later gathers walk memory forward), branch-free; returns how
/// many went left.
pub(crate) fn partition(units: &mut [u32], codes: &[u16], bin: u16, missing_left: bool, right: &mut Vec<u32>) -> usize {
    right.clear();
    right.resize(units.len(), 0);
    let (mut l, mut r) = (0, 0);
    for i in 0..units.len() {
        if let Some(&ahead) = units.get(i + PREFETCH_AHEAD) {
            prefetch(&codes[ahead as usize]);
        }
        let u = units[i];
        let go = goes_left(codes[u as usize], bin, missing_left);
        units[l] = u;
        right[r] = u;
        l += go as usize;
        r += !go as usize;
    }
    units[l..].copy_from_slice(&right[..r]);
    l
}
