//! Hierarchical false discovery rate control for tests arranged in a tree (Yekutieli 2008).
//!
//! The scan's dimension tests form a tree: experiment → metric × arm pair → dimension. Flat
//! Benjamini–Hochberg over millions of such tests has little power when the signal is
//! concentrated in a few experiments; testing top-down lets the few experiments (and pairs)
//! with evidence pass their tests, and their dimensions then compete only with their siblings.
//!
//! The procedure, its error rate and its limits are documented on [`hierarchical_adjust`].

use std::cmp::Ordering;

/// Yekutieli's (2008) universal bound δ* (1.44…, rounded up) in the FDR bound `2·δ*·q` of the
/// hierarchical procedure.
pub const YEKUTIELI_DELTA: f64 = 1.4435;

/// Yekutieli's factor `2·δ*`: the hierarchical procedure at level `q` keeps the FDR of all the
/// discoveries of the tree (nodes and leaves) at most `2·δ*·q`.
pub const TREE_FDR_FACTOR: f64 = 2.0 * YEKUTIELI_DELTA;

/// The factor `L·2·δ*` by which [`hierarchical_adjust`] multiplies the adjusted values of a tree
/// with `depth ≥ 1` levels of groups (`L = depth + 1` levels of families): the bound on the FDR
/// of the leaf discoveries alone. 1 without groups (plain BH).
pub fn leaf_fdr_factor(depth: usize) -> f64 {
    if depth == 0 {
        1.0
    } else {
        (depth + 1) as f64 * TREE_FDR_FACTOR
    }
}

/// Why the tree of [`hierarchical_adjust`] is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HierarchyError {
    /// The ids at some depth are not one per p-value.
    #[error("the group ids at depth {depth} have {len} entries for {leaves} p-values")]
    LengthMismatch {
        /// The depth of the ids (0 the top level).
        depth: usize,
        /// The number of ids given at that depth.
        len: usize,
        /// The number of p-values (leaves).
        leaves: usize,
    },
    /// A group lies in more than one group of the level above.
    #[error(
        "groups are not nested: the depth-{depth} group {id} has leaves in the depth-{} groups {} and {}",
        depth - 1, parents[0], parents[1]
    )]
    NotNested {
        /// The depth of the group (at least 1).
        depth: usize,
        /// The id of the group.
        id: u32,
        /// Two (the smallest two) of the ids at depth `depth − 1` it has leaves in.
        parents: [u32; 2],
    },
}

/// Hierarchical (Yekutieli 2008) adjusted p-values of the leaves `p`, in the order of `p`.
///
/// `groups[k][i]` is the id of leaf `i`'s ancestor at depth `k` (`k = 0` the top level, e.g.
/// the experiment; `k = 1` the next, e.g. the metric × arm pair). Ids are arbitrary `u32`s that
/// name a node within its depth: a depth-`k` id must not be reused under two depth-`(k−1)`
/// nodes (number pairs across experiments, not within each). Rejecting the leaves with adjusted
/// value `≤ α` keeps the FDR of the leaf discoveries at most `α` (the factor below); with
/// `groups` empty the values are plain BH.
///
/// The result does not depend on the order of the leaves. Time `O(D·n log n)` for `n` leaves
/// and `D` levels of groups (about 2 s for 10 million leaves and `D = 2`), memory `O(D·n)`.
///
/// # The procedure
///
/// Yekutieli, D. (2008). Hierarchical false discovery rate–controlling methodology. *JASA*
/// 103(481), 309–316. The tree is root → depth-0 nodes → … → depth-(D−1) nodes → leaves:
///
/// 1. Each internal node gets the Simes (1986) p-value of the valid leaves below it,
///    `min_j m·p_(j)/j` over their `m` ordered p-values (a valid p-value of the intersection
///    null when the leaves are independent).
/// 2. The children of the root form one family, tested by Benjamini & Hochberg (1995) at level
///    `q`; the children of every rejected node form a family tested by BH at the same `q`; a
///    leaf is a discovery when it and all its ancestors are rejected within their families.
///
/// A family does not depend on `q` (it is all the children of a node, tested or not), so a node
/// is rejected at `q` exactly when its BH-adjusted p-value within its family (R's
/// `p.adjust(·, "BH")`) is at most `q`. A leaf is therefore a discovery at `q` exactly when the
/// largest of these adjusted values along its path (depth-0 ancestor, …, parent, itself) is at
/// most `q`: that maximum is the leaf's hierarchical adjusted p-value before the factor below.
///
/// # The error rate, and the factor `L·2·δ*`
///
/// Under independence of the leaf p-values, Yekutieli bounds the FDR of all the discoveries of
/// the procedure at level `q`, the nodes and the leaves of the whole tree together, by
/// `2·δ*·q` with the universal `δ* ≤ 1.4435` ([`YEKUTIELI_DELTA`]); his approximation of that
/// FDR is `q·(families tested + discoveries)/(discoveries + 1)`. The bound for the leaf
/// discoveries alone grows with the number of levels of families `L = D + 1`: `L·2·δ*·q` (as we
/// read it). The scan reports dimensions (the leaves), so this function multiplies the maximum
/// by [`leaf_fdr_factor`]`(D) = L·2·δ*` and caps it at 1: rejecting the leaves with adjusted
/// value `≤ α` is the procedure at `q = α/(L·2·δ*)`.
///
/// Simulations (`tests/hierarchy_fdr.rs`: 1,000 experiments × 10 pairs × 10 dimensions,
/// independent z-tests, `α = 0.1`, so `L = 3`): with the signal clustered (3 × 3 non-null
/// dimensions in each of 10 experiments) the leaf FDR is about 0.02 and the tree finds 44% of
/// the non-null leaves against flat BH's 28%; with the signal sparse (one non-null dimension in
/// each of 90 experiments) the leaf FDR is about 0.06, and flat BH finds more (28% against
/// 13%): the experiments' Simes p-values dilute a single signal. With the factor `2·δ*` alone
/// (the whole tree's bound), the sparse design's leaf FDR was 0.145: when a selected family has
/// about one true discovery, its null siblings' chance rejections add up level by level.
///
/// A tree with no groups (`groups` empty) is root → leaves: one family, tested by BH. Its
/// adjusted values are plain BH, with no factor (a one-level tree is BH itself).
///
/// # Invalid tests
///
/// NaN p-values (tests that could not be computed) are left out everywhere, as in
/// [`adjust`](crate::adjust): a NaN leaf gets NaN and does not count in any `m`, and a node
/// with no valid leaf below it is not tested (it is not a member of its family).
///
/// # Errors
///
/// [`HierarchyError::LengthMismatch`] when some `groups[k]` is not of length `p.len()`;
/// [`HierarchyError::NotNested`] when a group lies in two groups of the level above.
pub fn hierarchical_adjust(p: &[f64], groups: &[&[u32]]) -> Result<Vec<f64>, HierarchyError> {
    check_lengths(p.len(), groups)?;
    let order = sort_leaves(p, groups);
    let levels = node_bounds(&order, groups);
    check_nesting(&order, groups, &levels)?;
    let worst = path_maxima(p, &order, &levels);
    let factor = leaf_fdr_factor(groups.len());
    let mut out = vec![f64::NAN; p.len()];
    for (&leaf, &w) in order.iter().zip(&worst) {
        if !p[leaf].is_nan() {
            out[leaf] = (factor * w).min(1.0);
        }
    }
    Ok(out)
}

fn check_lengths(leaves: usize, groups: &[&[u32]]) -> Result<(), HierarchyError> {
    match groups.iter().position(|g| g.len() != leaves) {
        Some(depth) => Err(HierarchyError::LengthMismatch { depth, len: groups[depth].len(), leaves }),
        None => Ok(()),
    }
}

/// The leaves in tree order: by their ids from the top level down, then by p-value with the NaN
/// last (ties by index, so that the order is total).
fn sort_leaves(p: &[f64], groups: &[&[u32]]) -> Vec<usize> {
    // The ids of the top two levels and the p-value (NaN made positive, which `total_cmp` puts
    // last) sit next to the index, so that a comparison reads one record rather than three
    // arrays at random places; deeper ids are read from `groups`.
    let id = |k: usize, i: usize| groups.get(k).map_or(0, |g| g[i]);
    let mut leaves: Vec<(u32, u32, f64, usize)> =
        (0..p.len()).map(|i| (id(0, i), id(1, i), if p[i].is_nan() { f64::NAN } else { p[i] }, i)).collect();
    let deeper = |a: usize, b: usize| {
        groups.iter().skip(2).map(|g| g[a].cmp(&g[b])).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
    };
    leaves.sort_unstable_by(|a, b| {
        (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| deeper(a.3, b.3)).then(a.2.total_cmp(&b.2)).then(a.3.cmp(&b.3))
    });
    leaves.into_iter().map(|l| l.3).collect()
}

/// The nodes of each level as runs of the tree order: `levels[0] = [0, n]` is the root and
/// `levels[k + 1]` holds the starts of the depth-`k` nodes followed by `n` (node `j` covers
/// `levels[k + 1][j]..levels[k + 1][j + 1]`). A run is a maximal stretch of equal ids at depths
/// `0..=k`, so every node's run lies inside its parent's.
fn node_bounds(order: &[usize], groups: &[&[u32]]) -> Vec<Vec<usize>> {
    let n = order.len();
    let mut levels = vec![vec![0, n]];
    for ids in groups {
        let parent = levels.last().expect("the root level");
        let mut starts = Vec::with_capacity(parent.len());
        let mut next_parent = 1; // index in `parent` of the next parent start after 0
        for pos in 0..n {
            let parent_starts_here = parent[next_parent] == pos;
            if parent_starts_here {
                next_parent += 1;
            }
            if pos == 0 || parent_starts_here || ids[order[pos]] != ids[order[pos - 1]] {
                starts.push(pos);
            }
        }
        starts.push(n);
        levels.push(starts);
    }
    levels
}

/// Fails on the shallowest depth at which an id names runs under two different parents. Once
/// the depths above are nested, two runs with the same id must have different parent ids.
fn check_nesting(order: &[usize], groups: &[&[u32]], levels: &[Vec<usize>]) -> Result<(), HierarchyError> {
    for depth in 1..groups.len() {
        let (ids, parent_ids) = (groups[depth], groups[depth - 1]);
        let starts = &levels[depth + 1];
        let mut pairs: Vec<(u32, u32)> =
            starts[..starts.len() - 1].iter().map(|&s| (ids[order[s]], parent_ids[order[s]])).collect();
        pairs.sort_unstable();
        if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(HierarchyError::NotNested { depth, id: w[0].0, parents: [w[0].1, w[1].1] });
        }
    }
    Ok(())
}

/// For each leaf in tree order, the largest BH-adjusted p-value within its family over the
/// nodes on its path and itself (unspecified for NaN leaves).
fn path_maxima(p: &[f64], order: &[usize], levels: &[Vec<usize>]) -> Vec<f64> {
    // p-values in tree order, NaN made positive so that `total_cmp` sorts it last; each node's
    // stretch is sorted before its Simes p-value is taken (the deepest are sorted already).
    let mut sorted: Vec<f64> = order.iter().map(|&i| if p[i].is_nan() { f64::NAN } else { p[i] }).collect();
    let mut worst = vec![0.0; order.len()];

    // Leaves: one family per deepest node (the root when there are no groups).
    let deepest = levels.last().expect("the root level");
    for run in deepest.windows(2) {
        let family = &sorted[run[0]..run[1]];
        let valid = family.partition_point(|x| !x.is_nan());
        bh_step_up(valid, |j| family[j], |j, q| worst[run[0] + j] = q);
    }

    // Internal nodes, deepest level first; their families are the children of one parent.
    let mut family: Vec<(f64, usize)> = Vec::new();
    for depth in (1..levels.len()).rev() {
        let (parents, nodes) = (&levels[depth - 1], &levels[depth]);
        let simes: Vec<f64> = nodes
            .windows(2)
            .map(|run| {
                let stretch = &mut sorted[run[0]..run[1]];
                if depth + 1 < levels.len() {
                    stretch.sort_unstable_by(f64::total_cmp);
                }
                simes_sorted(stretch)
            })
            .collect();
        let mut node = 0;
        for parent in parents.windows(2) {
            family.clear();
            while nodes[node] < parent[1] {
                if !simes[node].is_nan() {
                    family.push((simes[node], node));
                }
                node += 1;
            }
            family.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            bh_step_up(
                family.len(),
                |j| family[j].0,
                |j, q| {
                    let run = family[j].1;
                    worst[nodes[run]..nodes[run + 1]].iter_mut().for_each(|w| *w = q.max(*w));
                },
            );
        }
    }
    worst
}

/// The Simes (1986) p-value `min_j m·p_(j)/j` of an ascending stretch of p-values whose NaN come
/// last (`m` counts the valid ones); NaN when there is none.
fn simes_sorted(sorted: &[f64]) -> f64 {
    let m = sorted.partition_point(|x| !x.is_nan());
    let mf = m as f64;
    sorted[..m].iter().enumerate().map(|(j, &x)| mf * x / (j + 1) as f64).fold(f64::NAN, f64::min)
}

/// Benjamini–Hochberg step-up over a family of `m` p-values given in ascending order by
/// `p_at(j)`: emits `(j, q_(j))` with `q_(j) = min(1, min_{l ≥ j} m·p_(l)/l)` (ranks from 1),
/// R's `p.adjust(·, "BH")`, from the largest p-value down.
fn bh_step_up(m: usize, p_at: impl Fn(usize) -> f64, mut emit: impl FnMut(usize, f64)) {
    let mf = m as f64;
    let mut running = f64::INFINITY;
    for j in (0..m).rev() {
        running = running.min(mf * p_at(j) / (j + 1) as f64);
        emit(j, running.min(1.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{adjust, Correction};
    use rand::seq::SliceRandom;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::collections::BTreeMap;

    /// `hierarchical_adjust` with the group columns given as vectors.
    fn run(p: &[f64], groups: &[Vec<u32>]) -> Result<Vec<f64>, HierarchyError> {
        let g: Vec<&[u32]> = groups.iter().map(Vec::as_slice).collect();
        hierarchical_adjust(p, &g)
    }

    fn same(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-14, "{a:?}\nvs\n{b:?}");
        }
    }

    #[test]
    fn hand_worked_tree() {
        // Experiments 10 and 20; pairs 1 and 2 in experiment 10, pair 3 in experiment 20.
        //   pair 1: 0.001 0.02     pair 2: 0.04 0.5     pair 3: 0.03 0.6 0.9
        // Simes: experiment 10 (m = 4): min(4·.001, 4·.02/2, 4·.04/3, 4·.5/4) = 0.004;
        //   experiment 20 (m = 3): min(3·.03, 3·.6/2, 3·.9/3) = 0.09;
        //   pair 1: min(2·.001, .02) = 0.002; pair 2: min(2·.04, .5) = 0.08; pair 3: 0.09.
        // BH within families:
        //   experiments {0.004, 0.09}: 0.09 → 2·.09/2 = 0.09; 0.004 → min(2·.004, 0.09) = 0.008.
        //   pairs of experiment 10 {0.002, 0.08}: 0.004, 0.08; pair 3 alone: 0.09.
        //   leaves of pair 1: 0.002, 0.02; of pair 2: 0.08, 0.5; of pair 3: 0.09, 0.9, 0.9.
        // Path maxima: 0.001 → max(.008, .004, .002) = .008; 0.02 → .02; 0.04 → .08; 0.5 → .5;
        //   0.03 → .09; 0.6 → .9; 0.9 → .9. Times L·2·δ* = 3·2·1.4435 = 8.661 (two levels of
        //   groups, three of families), capped at 1.
        let p = [0.6, 0.02, 0.04, 0.001, 0.9, 0.5, 0.03];
        let experiment = vec![20, 10, 10, 10, 20, 10, 20];
        let pair = vec![3, 1, 2, 1, 3, 2, 3];
        let q = run(&p, &[experiment, pair]).unwrap();
        let f = 3.0 * 2.887;
        same(&q, &[1.0, 0.02 * f, 0.08 * f, 0.008 * f, 1.0, 1.0, 0.09 * f]);
    }

    #[test]
    fn no_groups_is_plain_bh_without_factor() {
        let p = [0.04, 0.001, 0.04, 0.5, f64::NAN, 0.0102, 0.9];
        assert_eq!(run(&p, &[]).unwrap().iter().map(|q| q.to_bits()).collect::<Vec<_>>(), {
            adjust(&p, Correction::Bh).iter().map(|q| q.to_bits()).collect::<Vec<_>>()
        });
        assert!(run(&[], &[]).unwrap().is_empty());
        assert!(run(&[], &[vec![]]).unwrap().is_empty());
    }

    #[test]
    fn nan_leaves_and_nodes_without_valid_leaves_are_left_out() {
        // A NaN leaf in pair 1, and pair 4 (experiment 10) and experiment 30 with only NaN.
        let p = [0.001, f64::NAN, 0.02, 0.04, 0.5, f64::NAN, f64::NAN, 0.03, 0.6];
        let experiment = vec![10, 10, 10, 10, 10, 10, 30, 20, 20];
        let pair = vec![1, 1, 1, 2, 2, 4, 5, 3, 3];
        let q = run(&p, &[experiment.clone(), pair.clone()]).unwrap();
        let keep: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
        let pick = |v: &[u32]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let without = run(&keep.iter().map(|&i| p[i]).collect::<Vec<_>>(), &[pick(&experiment), pick(&pair)]).unwrap();
        assert!(q[1].is_nan() && q[5].is_nan() && q[6].is_nan());
        same(&keep.iter().map(|&i| q[i]).collect::<Vec<_>>(), &without);
        assert!(run(&[f64::NAN, f64::NAN], &[vec![1, 2]]).unwrap().iter().all(|q| q.is_nan()));
    }

    /// A random three-level tree with sparse ids, tied p-values, NaN and some signal.
    fn random_tree(seed: u64, experiments: u32) -> (Vec<f64>, Vec<Vec<u32>>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut p, mut groups) = (Vec::new(), vec![Vec::new(), Vec::new(), Vec::new()]);
        let mut pair_id = 0;
        for e in 0..experiments {
            let signal = rng.random_bool(0.2);
            for _ in 0..rng.random_range(1..5) {
                pair_id += rng.random_range(1..4);
                let sub = rng.random_range(1..4);
                for s in 0..sub {
                    for _ in 0..rng.random_range(1..6) {
                        let u: f64 = rng.random();
                        p.push(match rng.random_range(0..10) {
                            0 => f64::NAN,
                            1 => 0.05,
                            _ if signal => u * u * u * 0.01,
                            _ => u,
                        });
                        groups[0].push(1000 + 7 * e);
                        groups[1].push(pair_id);
                        groups[2].push(pair_id * 10 + s);
                    }
                }
            }
        }
        (p, groups)
    }

    /// The procedure written directly from its definition: families as maps, BH by `adjust`.
    fn reference(p: &[f64], groups: &[Vec<u32>]) -> Vec<f64> {
        let depth = groups.len();
        let path = |i: usize, k: usize| groups[..k].iter().map(|g| g[i]).collect::<Vec<u32>>();
        let mut worst = vec![0.0f64; p.len()];
        for k in 0..=depth {
            // Children at depth k (the leaves when k = depth), grouped by their parent's path.
            let mut families: BTreeMap<Vec<u32>, BTreeMap<Vec<u32>, Vec<usize>>> = BTreeMap::new();
            for i in 0..p.len() {
                let child = if k == depth { vec![i as u32] } else { path(i, k + 1) };
                families.entry(path(i, k)).or_default().entry(child).or_default().push(i);
            }
            for children in families.values() {
                let simes: Vec<f64> = children
                    .values()
                    .map(|leaves| {
                        let mut v: Vec<f64> = leaves.iter().map(|&i| p[i]).filter(|x| !x.is_nan()).collect();
                        v.sort_by(f64::total_cmp);
                        let m = v.len() as f64;
                        v.iter().enumerate().map(|(j, x)| m * x / (j + 1) as f64).fold(f64::NAN, f64::min)
                    })
                    .collect();
                for (q, leaves) in adjust(&simes, Correction::Bh).iter().zip(children.values()) {
                    leaves.iter().for_each(|&i| worst[i] = worst[i].max(*q));
                }
            }
        }
        let f = leaf_fdr_factor(depth);
        (0..p.len()).map(|i| if p[i].is_nan() { f64::NAN } else { (f * worst[i]).min(1.0) }).collect()
    }

    #[test]
    fn matches_the_definition_on_random_trees() {
        for seed in 0..20 {
            let (p, groups) = random_tree(seed, 30);
            for levels in 0..=3 {
                same(&run(&p, &groups[..levels]).unwrap(), &reference(&p, &groups[..levels]));
            }
        }
    }

    #[test]
    fn invariant_to_the_order_of_the_leaves() {
        let (p, groups) = random_tree(99, 400);
        let q = run(&p, &groups).unwrap();
        let mut perm: Vec<usize> = (0..p.len()).collect();
        perm.shuffle(&mut ChaCha8Rng::seed_from_u64(5));
        let pp: Vec<f64> = perm.iter().map(|&i| p[i]).collect();
        let pg: Vec<Vec<u32>> = groups.iter().map(|g| perm.iter().map(|&i| g[i]).collect()).collect();
        let qp = run(&pp, &pg).unwrap();
        for (k, &i) in perm.iter().enumerate() {
            assert_eq!(qp[k].to_bits(), q[i].to_bits());
        }
    }

    #[test]
    fn at_least_bh_within_the_family() {
        let (p, groups) = random_tree(7, 200);
        let q = run(&p, &groups).unwrap();
        let mut families: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        (0..p.len()).for_each(|i| families.entry(groups[2][i]).or_default().push(i));
        for leaves in families.values() {
            let bh = adjust(&leaves.iter().map(|&i| p[i]).collect::<Vec<_>>(), Correction::Bh);
            for (&i, b) in leaves.iter().zip(bh) {
                assert!(q[i] >= b || (q[i].is_nan() && b.is_nan()), "leaf {i}: {} < {b}", q[i]);
            }
        }
    }

    #[test]
    fn errors_name_the_depth_and_the_id() {
        let p = [0.1, 0.2, 0.3, 0.4];
        let e = run(&p, &[vec![1, 1, 2, 2], vec![5, 6, 6, 7]]).unwrap_err();
        assert_eq!(e, HierarchyError::NotNested { depth: 1, id: 6, parents: [1, 2] });
        assert_eq!(
            e.to_string(),
            "groups are not nested: the depth-1 group 6 has leaves in the depth-0 groups 1 and 2"
        );
        // Non-nesting at depth 1 is reported before depth 2's.
        let e = run(&p, &[vec![1, 1, 2, 2], vec![5, 6, 6, 7], vec![9, 9, 9, 9]]).unwrap_err();
        assert!(matches!(e, HierarchyError::NotNested { depth: 1, .. }));
        let e = run(&p, &[vec![1, 1, 2, 2], vec![5, 5, 6, 6], vec![8, 9, 9, 8]]).unwrap_err();
        assert_eq!(e, HierarchyError::NotNested { depth: 2, id: 8, parents: [5, 6] });
        let e = run(&p, &[vec![1, 1, 2, 2], vec![5, 6, 7]]).unwrap_err();
        assert_eq!(e, HierarchyError::LengthMismatch { depth: 1, len: 3, leaves: 4 });
        assert_eq!(e.to_string(), "the group ids at depth 1 have 3 entries for 4 p-values");
    }

    #[test]
    #[cfg_attr(debug_assertions, ignore = "timing: run with --release")]
    fn a_million_leaves_in_well_under_a_second() {
        // 1,000 experiments × 100 pairs × 10 dimensions, given in shuffled order.
        let n = 1_000_000usize;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut perm: Vec<u32> = (0..n as u32).collect();
        perm.shuffle(&mut rng);
        let p: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let experiment: Vec<u32> = perm.iter().map(|&i| i / 1000).collect();
        let pair: Vec<u32> = perm.iter().map(|&i| i / 10).collect();
        let start = std::time::Instant::now();
        let q = hierarchical_adjust(&p, &[&experiment, &pair]).unwrap();
        let secs = start.elapsed().as_secs_f64();
        eprintln!("hierarchical_adjust: 1e6 leaves, 2 levels of groups: {secs:.3} s");
        assert!(q.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(secs < 2.0, "{secs} s");
    }
}
