//! The innermost loop of the aggregation: for every cell of a table, the sum of the power-sum
//! rows that fall in it.
//!
//! A scatter (`cells[code[k]] += row[k]`) stalls whenever nearby rows hit the same cell: each
//! update must wait for the store of the previous one. Instead, the rows of a block are first
//! grouped by cell with a stable counting sort ([`Grouping`], built once per block and
//! dimension and reused for every metric), and each cell's rows are then summed in registers
//! ([`grouped_sum`]) and stored once. The sums are compiled for AVX-512 and AVX2 as well as
//! for the baseline target and chosen at run time; all versions perform the same additions in
//! the same order, so results are bit-identical across machines and thread counts.

use cateye_stats::PowerSums;

/// The rows of a block grouped by cell: `order[bounds[c]..bounds[c + 1]]` are the rows (in
/// their original order) whose code is `c`.
#[derive(Clone, Debug, Default)]
pub struct Grouping {
    pub order: Vec<u16>,
    pub bounds: Vec<u32>,
    /// The cells with at least one row, ascending.
    pub nonempty: Vec<u32>,
    cursor: Vec<u32>,
}

impl Grouping {
    /// Group `codes` (each `< cells`, at most 65,536 rows) by value.
    ///
    /// # Panics
    /// If a code is out of range or there are too many rows.
    #[inline]
    pub fn build(&mut self, codes: &[u32], cells: usize) {
        assert!(codes.len() <= u16::MAX as usize + 1, "a block holds at most 65,536 rows");
        self.bounds.clear();
        self.bounds.resize(cells + 1, 0);
        for &c in codes {
            self.bounds[c as usize + 1] += 1;
        }
        self.nonempty.clear();
        for c in 0..cells {
            if self.bounds[c + 1] > 0 {
                self.nonempty.push(c as u32);
            }
            self.bounds[c + 1] += self.bounds[c];
        }
        self.order.clear();
        self.order.resize(codes.len(), 0);
        // Stable placement with a running cursor per cell.
        self.cursor.clear();
        self.cursor.extend_from_slice(&self.bounds[..cells]);
        for (k, &c) in codes.iter().enumerate() {
            let slot = &mut self.cursor[c as usize];
            self.order[*slot as usize] = k as u16;
            *slot += 1;
        }
    }

    /// Number of rows in cell `c`.
    pub fn count(&self, c: usize) -> u32 {
        self.bounds[c + 1] - self.bounds[c]
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }
}

/// `cells[c] += Σ rows[k]` over the rows `k` of cell `c`, for every cell (`cells.len()` must
/// equal the number of cells of `g`).
pub type GroupedSum = fn(&mut [PowerSums], &Grouping, &[PowerSums]);

macro_rules! grouped_sum_body {
    ($cells:expr, $g:expr, $rows:expr) => {{
        let (cells, g, rows): (&mut [PowerSums], &Grouping, &[PowerSums]) = ($cells, $g, $rows);
        assert_eq!(cells.len(), g.cells());
        assert_eq!(g.order.len(), rows.len());
        for &c in &g.nonempty {
            let c = c as usize;
            let idx = &g.order[g.bounds[c] as usize..g.bounds[c + 1] as usize];
            let cell = &mut cells[c];
            // Two accumulators halve the dependency chain of the additions.
            let (mut a, mut b) = ([0.0f64; 8], [0.0f64; 8]);
            let mut pairs = idx.chunks_exact(2);
            for p in &mut pairs {
                let (r, s) = (&rows[p[0] as usize], &rows[p[1] as usize]);
                for j in 0..8 {
                    a[j] += r[j];
                    b[j] += s[j];
                }
            }
            if let [k] = pairs.remainder() {
                let r = &rows[*k as usize];
                for j in 0..8 {
                    a[j] += r[j];
                }
            }
            for j in 0..8 {
                cell[j] += a[j] + b[j];
            }
        }
    }};
}

/// Portable version of [`GroupedSum`].
pub fn grouped_sum(cells: &mut [PowerSums], g: &Grouping, rows: &[PowerSums]) {
    grouped_sum_body!(cells, g, rows)
}

/// The fastest version of [`grouped_sum`] this CPU supports.
pub fn best_grouped_sum() -> GroupedSum {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return x86::grouped_sum_avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return x86::grouped_sum_avx2;
        }
    }
    grouped_sum
}

// The only unsafe code of cateye: calling a function compiled for a CPU feature, after the
// feature was detected at run time.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use super::{Grouping, PowerSums};

    pub fn grouped_sum_avx512(cells: &mut [PowerSums], g: &Grouping, rows: &[PowerSums]) {
        // SAFETY: chosen by `best_grouped_sum` only after detecting AVX-512F.
        unsafe { avx512(cells, g, rows) }
    }

    pub fn grouped_sum_avx2(cells: &mut [PowerSums], g: &Grouping, rows: &[PowerSums]) {
        // SAFETY: chosen by `best_grouped_sum` only after detecting AVX2.
        unsafe { avx2(cells, g, rows) }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn avx512(cells: &mut [PowerSums], g: &Grouping, rows: &[PowerSums]) {
        grouped_sum_body!(cells, g, rows)
    }

    #[target_feature(enable = "avx2")]
    unsafe fn avx2(cells: &mut [PowerSums], g: &Grouping, rows: &[PowerSums]) {
        grouped_sum_body!(cells, g, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_is_a_stable_counting_sort() {
        let codes = [2u32, 0, 2, 1, 0, 2];
        let mut g = Grouping::default();
        g.build(&codes, 4);
        assert_eq!(g.bounds, [0, 2, 3, 6, 6]);
        assert_eq!(g.nonempty, [0, 1, 2]);
        assert_eq!(g.order, [1, 4, 3, 0, 2, 5]);
        assert_eq!((g.count(2), g.count(3)), (3, 0));
    }

    #[test]
    fn all_versions_agree_bit_for_bit_with_the_direct_sum() {
        let rows: Vec<PowerSums> =
            (0..1001).map(|i| std::array::from_fn(|k| (i * 8 + k) as f64 * 0.37 - 11.0)).collect();
        let codes: Vec<u32> = (0..1001u32).map(|i| (i * 7919) % 13).collect();
        let mut g = Grouping::default();
        g.build(&codes, 13);
        let mut reference = vec![[1.0; 8]; 13];
        grouped_sum(&mut reference, &g, &rows);
        let mut versions: Vec<GroupedSum> = vec![best_grouped_sum()];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            versions.push(x86::grouped_sum_avx2);
        }
        for f in versions {
            let mut got = vec![[1.0; 8]; 13];
            f(&mut got, &g, &rows);
            assert_eq!(got, reference);
        }
        for c in 0..13 {
            for j in 0..8 {
                let want: f64 = 1.0 + rows.iter().zip(&codes).filter(|(_, &k)| k == c).map(|(r, _)| r[j]).sum::<f64>();
                assert!((reference[c as usize][j] - want).abs() <= 1e-9 * want.abs().max(1.0));
            }
        }
    }

    #[test]
    #[should_panic]
    fn out_of_range_codes_panic() {
        Grouping::default().build(&[5], 2);
    }
}
