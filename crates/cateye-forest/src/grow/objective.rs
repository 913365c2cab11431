//! The split objectives, one per forest kind: what a node's units are summarised into and
//! how a split point is judged (regression: weighted outcome sums; causal: gradient-based
//! relabeling), and the node-independent moments that make histogram subtraction possible.

use super::*;

/// Sums a split rule accumulates per bin and per child.
pub(crate) trait Sums: Copy + Default + Send {
    fn add(&mut self, other: &Self);
    fn minus(&self, other: &Self) -> Self;
    fn units(&self) -> u32;
}

/// The node totals and child-size limits a scan needs.
pub(crate) struct NodeLimits<S> {
    pub(crate) total: S,
    pub(crate) min_child_units: u32,
    pub(crate) min_child_variation: f64,
}

/// What a candidate split point is worth.
pub(crate) enum Step {
    /// Inadmissible; later split points may be admissible.
    Skip,
    /// Inadmissible, and so is every later split point.
    Stop,
    Criterion(f64),
}

/// A split rule: how a node's units are summarised and how a split point is judged.
pub(crate) trait Objective {
    type Sums: Sums;
    /// Writes the per-unit sums of the node (position-aligned with `units`) and returns its
    /// limits, or `None` when the node cannot be split (`out` is then unspecified).
    fn prepare(
        rule: &SplitRule,
        targets: Targets,
        units: &[u32],
        out: &mut Vec<Self::Sums>,
    ) -> Option<NodeLimits<Self::Sums>>;
    fn judge(rule: &SplitRule, node: &NodeLimits<Self::Sums>, left: &Self::Sums, right: &Self::Sums) -> Step;

    /// Per-unit moments that do not depend on the node, so that a child's histogram is its
    /// parent's minus its sibling's (see `grow_by_subtraction`).
    type Moments: Sums;
    /// What turns a bin's moments into the node's split sums.
    type Context: Copy;
    /// `Some(cut)` when the moments are exact for these targets (`cut`: see `unit_moments`).
    fn moments_supported(targets: Targets) -> Option<f64>;
    /// Moments of unit `u`; `cut` separates the two treatment values of the causal rule.
    fn unit_moments(targets: Targets, cut: f64, u: usize) -> Self::Moments;
    /// The node's limits from its total moments (`None`: the node cannot be split).
    fn limits_from_moments(rule: &SplitRule, total: &Self::Moments) -> Option<(NodeLimits<Self::Sums>, Self::Context)>;
    fn sums_from_moments(context: &Self::Context, moments: &Self::Moments) -> Self::Sums;
    /// Fewest units a node must hold for any split to be admissible.
    fn min_units_to_split(rule: &SplitRule) -> usize;
}

/// Units, weight and weighted outcome.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct RegressionSums {
    pub(crate) n: u32,
    pub(crate) sw: f64,
    pub(crate) s: f64,
}

impl Sums for RegressionSums {
    #[inline]
    fn add(&mut self, o: &Self) {
        self.n += o.n;
        self.sw += o.sw;
        self.s += o.s;
    }
    #[inline]
    fn minus(&self, o: &Self) -> Self {
        RegressionSums { n: self.n - o.n, sw: self.sw - o.sw, s: self.s - o.s }
    }
    #[inline]
    fn units(&self) -> u32 {
        self.n
    }
}

pub(crate) struct Regression;

impl Objective for Regression {
    type Sums = RegressionSums;

    fn prepare(
        rule: &SplitRule,
        targets: Targets,
        units: &[u32],
        out: &mut Vec<RegressionSums>,
    ) -> Option<NodeLimits<RegressionSums>> {
        out.clear();
        let mut total = RegressionSums::default();
        for (k, &u) in units.iter().enumerate() {
            if let Some(&ahead) = units.get(k + PREFETCH_AHEAD) {
                prefetch(&targets.weight[ahead as usize]);
                prefetch(&targets.y[ahead as usize]);
            }
            let w = targets.weight[u as usize];
            let unit = RegressionSums { n: 1, sw: w, s: w * targets.y[u as usize] };
            total.add(&unit);
            out.push(unit);
        }
        let min_child_units = ((units.len() as f64 * rule.alpha).ceil() as u32).max(1);
        (total.sw > 0.0).then_some(NodeLimits { total, min_child_units, min_child_variation: 0.0 })
    }

    #[inline]
    fn judge(
        rule: &SplitRule,
        node: &NodeLimits<RegressionSums>,
        left: &RegressionSums,
        right: &RegressionSums,
    ) -> Step {
        if left.n < node.min_child_units {
            return Step::Skip;
        }
        if right.n < node.min_child_units {
            return Step::Stop;
        }
        let mut criterion = between_children(left.s, left.sw, right.s, right.sw);
        if rule.imbalance_penalty > 0.0 {
            criterion -= rule.imbalance_penalty * (1.0 / left.n as f64 + 1.0 / right.n as f64);
        }
        Step::Criterion(criterion)
    }

    // The regression sums do not depend on the node at all.
    type Moments = RegressionSums;
    type Context = ();

    fn moments_supported(_: Targets) -> Option<f64> {
        Some(0.0)
    }

    #[inline]
    fn unit_moments(targets: Targets, _: f64, u: usize) -> RegressionSums {
        let w = targets.weight[u];
        RegressionSums { n: 1, sw: w, s: w * targets.y[u] }
    }

    fn limits_from_moments(rule: &SplitRule, total: &RegressionSums) -> Option<(NodeLimits<RegressionSums>, ())> {
        let min_child_units = ((total.n as f64 * rule.alpha).ceil() as u32).max(1);
        (total.sw > 0.0).then_some((NodeLimits { total: *total, min_child_units, min_child_variation: 0.0 }, ()))
    }

    #[inline]
    fn sums_from_moments(_: &(), moments: &RegressionSums) -> RegressionSums {
        *moments
    }

    /// One unit per child.
    fn min_units_to_split(_: &SplitRule) -> usize {
        2
    }
}

/// The split criterion `S_L²/W_L + S_R²/W_R` with one division.
#[inline]
pub(crate) fn between_children(s_left: f64, w_left: f64, s_right: f64, w_right: f64) -> f64 {
    (s_left * s_left * w_right + s_right * s_right * w_left) / (w_left * w_right)
}

/// Units, units below the node's mean treatment, weight, weighted pseudo-outcome, weighted
/// treatment and its square.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct CausalSums {
    pub(crate) n: u32,
    pub(crate) small: u32,
    pub(crate) sw: f64,
    pub(crate) s: f64,
    pub(crate) sz: f64,
    pub(crate) szz: f64,
}

impl CausalSums {
    /// Weighted sum of squares of the treatment around its mean.
    #[inline]
    fn z_variation(&self) -> f64 {
        self.szz - self.sz * self.sz / self.sw
    }

    /// `z_variation() · sw`, without a division.
    #[inline]
    fn z_variation_times_weight(&self) -> f64 {
        self.szz * self.sw - self.sz * self.sz
    }
}

impl Sums for CausalSums {
    #[inline]
    fn add(&mut self, o: &Self) {
        self.n += o.n;
        self.small += o.small;
        self.sw += o.sw;
        self.s += o.s;
        self.sz += o.sz;
        self.szz += o.szz;
    }
    #[inline]
    fn minus(&self, o: &Self) -> Self {
        CausalSums {
            n: self.n - o.n,
            small: self.small - o.small,
            sw: self.sw - o.sw,
            s: self.s - o.s,
            sz: self.sz - o.sz,
            szz: self.szz - o.szz,
        }
    }
    #[inline]
    fn units(&self) -> u32 {
        self.n
    }
}

pub(crate) struct Causal;

impl Objective for Causal {
    type Sums = CausalSums;

    fn prepare(
        rule: &SplitRule,
        targets: Targets,
        units: &[u32],
        out: &mut Vec<CausalSums>,
    ) -> Option<NodeLimits<CausalSums>> {
        // The units' (ω, y, z) are gathered once, into `out` (as `sw`, `s`, `sz`), and read
        // from there by the two later passes: at a million rows each gather misses the cache.
        out.clear();
        let (mut sw, mut sy, mut sz) = (0.0, 0.0, 0.0);
        for (k, &u) in units.iter().enumerate() {
            if let Some(&ahead) = units.get(k + PREFETCH_AHEAD) {
                let ahead = ahead as usize;
                prefetch(&targets.weight[ahead]);
                prefetch(&targets.y[ahead]);
                prefetch(&targets.z[ahead]);
            }
            let (w, y, z) = (targets.weight[u as usize], targets.y[u as usize], targets.z[u as usize]);
            sw += w;
            sy += w * y;
            sz += w * z;
            out.push(CausalSums { n: 1, small: 0, sw: w, s: y, sz: z, szz: 0.0 });
        }
        if sw <= 0.0 {
            return None;
        }
        let (y_mean, z_mean) = (sy / sw, sz / sw);
        let (mut num, mut den) = (0.0, 0.0);
        for gathered in out.iter() {
            let (w, dz) = (gathered.sw, gathered.sz - z_mean);
            num += w * dz * (gathered.s - y_mean);
            den += w * dz * dz;
        }
        if den.abs() <= 1e-10 {
            return None;
        }
        let tau = num / den;
        let mut total = CausalSums::default();
        for unit in out.iter_mut() {
            let (w, y, z) = (unit.sw, unit.s, unit.sz);
            let dz = z - z_mean;
            let rho = dz * ((y - y_mean) - tau * dz);
            *unit = CausalSums { n: 1, small: (z < z_mean) as u32, sw: w, s: w * rho, sz: w * z, szz: w * z * z };
            total.add(unit);
        }
        let min_child_variation = rule.alpha * total.z_variation();
        Some(NodeLimits { total, min_child_units: rule.min_node_size as u32, min_child_variation })
    }

    #[inline]
    fn judge(rule: &SplitRule, node: &NodeLimits<CausalSums>, left: &CausalSums, right: &CausalSums) -> Step {
        let min = node.min_child_units;
        if left.small < min || left.n - left.small < min {
            return Step::Skip;
        }
        if right.small < min || right.n - right.small < min {
            return Step::Stop;
        }
        // Treatment variation of each child against the floor, without dividing: V·W ≥ floor·W.
        let floor = node.min_child_variation;
        if left.z_variation_times_weight() < floor * left.sw || right.z_variation_times_weight() < floor * right.sw {
            return Step::Skip;
        }
        let mut criterion = between_children(left.s, left.sw, right.s, right.sw);
        let penalty = rule.imbalance_penalty;
        if penalty > 0.0 {
            let (vl, vr) = (left.z_variation(), right.z_variation());
            if vl <= 0.0 || vr <= 0.0 {
                return Step::Skip;
            }
            criterion -= penalty * (1.0 / vl + 1.0 / vr);
        }
        Step::Criterion(criterion)
    }

    type Moments = CausalMoments;
    type Context = CausalContext;

    /// Exact when the treatment takes two values (a trial with a known assignment probability):
    /// then the units below a node's mean treatment are the units with the lower value, whatever
    /// the node.
    fn moments_supported(targets: Targets) -> Option<f64> {
        let &first = targets.z.first()?;
        let &second = targets.z.iter().find(|&&z| z != first)?;
        targets.z.iter().all(|&z| z == first || z == second).then_some(0.5 * (first + second))
    }

    #[inline]
    fn unit_moments(targets: Targets, cut: f64, u: usize) -> CausalMoments {
        let (w, y, z) = (targets.weight[u], targets.y[u], targets.z[u]);
        CausalMoments { n: 1, small: (z < cut) as u32, sw: w, swy: w * y, swz: w * z, swzz: w * z * z, swzy: w * z * y }
    }

    fn limits_from_moments(rule: &SplitRule, total: &CausalMoments) -> Option<(NodeLimits<CausalSums>, CausalContext)> {
        if total.sw <= 0.0 {
            return None;
        }
        let (y_mean, z_mean) = (total.swy / total.sw, total.swz / total.sw);
        let den = total.swzz - z_mean * total.swz;
        if den.abs() <= 1e-10 {
            return None;
        }
        let num = total.swzy - z_mean * total.swy;
        let context = CausalContext { y_mean, z_mean, tau: num / den };
        let sums = Self::sums_from_moments(&context, total);
        let min_child_variation = rule.alpha * sums.z_variation();
        Some((NodeLimits { total: sums, min_child_units: rule.min_node_size as u32, min_child_variation }, context))
    }

    /// `Σω ρ = Σω(z − z̄)((y − ȳ) − τ(z − z̄))` expanded in the bin's moments.
    #[inline]
    fn sums_from_moments(c: &CausalContext, m: &CausalMoments) -> CausalSums {
        let zy = m.swzy - c.z_mean * m.swy - c.y_mean * m.swz + c.z_mean * c.y_mean * m.sw;
        let zz = m.swzz - 2.0 * c.z_mean * m.swz + c.z_mean * c.z_mean * m.sw;
        CausalSums { n: m.n, small: m.small, sw: m.sw, s: zy - c.tau * zz, sz: m.swz, szz: m.swzz }
    }

    /// `min_node_size` units on each side of the node's mean treatment in each child.
    fn min_units_to_split(rule: &SplitRule) -> usize {
        (4 * rule.min_node_size).max(2)
    }
}

/// Node-independent moments of the causal split rule: units, units with the lower treatment
/// value, `Σω`, `Σωy`, `Σωz`, `Σωz²`, `Σωzy`.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct CausalMoments {
    pub(crate) n: u32,
    pub(crate) small: u32,
    pub(crate) sw: f64,
    pub(crate) swy: f64,
    pub(crate) swz: f64,
    pub(crate) swzz: f64,
    pub(crate) swzy: f64,
}

impl Sums for CausalMoments {
    #[inline]
    fn add(&mut self, o: &Self) {
        self.n += o.n;
        self.small += o.small;
        self.sw += o.sw;
        self.swy += o.swy;
        self.swz += o.swz;
        self.swzz += o.swzz;
        self.swzy += o.swzy;
    }
    #[inline]
    fn minus(&self, o: &Self) -> Self {
        CausalMoments {
            n: self.n - o.n,
            small: self.small - o.small,
            sw: self.sw - o.sw,
            swy: self.swy - o.swy,
            swz: self.swz - o.swz,
            swzz: self.swzz - o.swzz,
            swzy: self.swzy - o.swzy,
        }
    }
    #[inline]
    fn units(&self) -> u32 {
        self.n
    }
}

/// The node's means and effect, which turn moments into pseudo-outcome sums.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CausalContext {
    pub(crate) y_mean: f64,
    pub(crate) z_mean: f64,
    pub(crate) tau: f64,
}
