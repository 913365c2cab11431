//! Randomized designs of a network experiment: who is treated, drawn from a seed.
//!
//! A [`Design`] assigns treatment to *clusters* of nodes; a unit-level design is the special
//! case where every node is its own cluster. Four randomizations are offered, as in graph
//! cluster randomization (Ugander, Karrer, Backstrom & Kleinberg 2013, §2; Eckles, Karrer &
//! Ugander 2017, §2):
//!
//! * **Bernoulli(p)**: each cluster is treated independently with probability `p`;
//! * **complete randomization**: exactly `m = round(p·C)` of the `C` clusters are treated, every
//!   `m`-subset being equally likely;
//! * **stratified complete randomization**: the clusters are split into strata (for example by
//!   size, [`size_strata`]) and `m_s = round(p·C_s)` of the `C_s` clusters of stratum `s` are
//!   treated, independently across strata.
//!
//! The design knows its probabilities ([`Design::cluster_probability`]); the exposure module
//! turns them into exact exposure probabilities. Draws are reproducible: Bernoulli draws take
//! the uniform of cluster `c` from block `c / 4096` of the ChaCha8 stream
//! `cateye_stats::stream(seed, PURPOSE, block)`, complete randomization shuffles stratum `s`
//! with stream `s`, so an [`Assignment`] depends on the seed only, never on the number of
//! threads.

use cateye_stats::stream;
use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{NetworkError, Result};

/// Stream purpose of Bernoulli cluster draws.
const PURPOSE_BERNOULLI: u64 = 0xDE51_6E00_0001;
/// Stream purpose of complete (stratified) randomization.
const PURPOSE_COMPLETE: u64 = 0xDE51_6E00_0002;
/// Clusters per random stream in Bernoulli draws.
const BLOCK: usize = 4096;

/// Whether the design randomizes nodes or clusters of nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Every node is its own cluster (unit randomization).
    Unit,
    /// Nodes are randomized by cluster (graph cluster randomization).
    Cluster,
}

/// How the clusters are randomized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Randomization {
    /// Independent Bernoulli(p) per cluster.
    Bernoulli,
    /// Exactly `round(p·C)` clusters treated.
    Complete,
    /// Exactly `round(p·C_s)` clusters treated within every stratum.
    Stratified,
}

/// A randomized design: cluster labels of the nodes and the randomization of the clusters.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    level: Level,
    labels: Vec<u32>,
    sizes: Vec<u32>,
    scheme: Scheme,
}

#[derive(Clone, Debug, PartialEq)]
enum Scheme {
    Bernoulli { p: f64 },
    Complete { randomization: Randomization, p: f64, strata: Strata },
}

/// Strata of clusters for complete randomization (one stratum when unstratified).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Strata {
    /// Stratum of every cluster.
    pub(crate) of_cluster: Vec<u32>,
    /// Number of clusters `C_s` of every stratum.
    pub(crate) clusters: Vec<u32>,
    /// Number of treated clusters `m_s` of every stratum.
    pub(crate) treated: Vec<u32>,
    /// Row offsets into `members`.
    offsets: Vec<usize>,
    /// The clusters of every stratum, ascending.
    members: Vec<u32>,
}

/// The randomization as the exposure computations need it.
pub(crate) enum SchemeView<'a> {
    /// Independent clusters, each treated with probability `p`.
    Bernoulli(f64),
    /// Complete randomization within strata.
    Complete(&'a Strata),
}

/// What a design is, for the design summary JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DesignSummary {
    /// Unit or cluster randomization.
    pub level: Level,
    /// Bernoulli, complete or stratified complete randomization.
    pub randomization: Randomization,
    /// The treatment probability `p` the design was built with.
    pub p: f64,
    /// Number of nodes.
    pub nodes: usize,
    /// Number of clusters (the number of nodes for a unit design).
    pub clusters: usize,
    /// Number of strata (1 unless stratified; 0 for Bernoulli).
    pub strata: usize,
    /// Clusters treated by every draw (complete randomization); `None` under Bernoulli.
    pub treated_clusters: Option<usize>,
    /// Smallest cluster size.
    pub min_cluster_size: u32,
    /// Largest cluster size.
    pub max_cluster_size: u32,
    /// Mean cluster size.
    pub mean_cluster_size: f64,
}

/// One draw of a design: the treatment (1) or control (0) of every cluster and every node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assignment {
    clusters: Vec<u8>,
    nodes: Vec<u8>,
}

fn check_p(p: f64) -> Result<()> {
    if p.is_finite() && p > 0.0 && p < 1.0 {
        Ok(())
    } else {
        Err(NetworkError::invalid(format!("p = {p}: the treatment probability must lie strictly between 0 and 1")))
    }
}

/// The number of nodes of every cluster, checking that the labels are `0..C` with no cluster
/// left empty (an empty cluster is an error naming it).
pub fn cluster_sizes(labels: &[u32]) -> Result<Vec<u32>> {
    count_labels(labels, "cluster", "node")
}

fn count_labels(labels: &[u32], what: &str, member: &str) -> Result<Vec<u32>> {
    let Some(&max) = labels.iter().max() else {
        return Err(NetworkError::invalid(format!("no {member} labels given: a design needs at least one {member}")));
    };
    let mut sizes = vec![0u32; max as usize + 1];
    for &c in labels {
        sizes[c as usize] += 1;
    }
    if let Some(empty) = sizes.iter().position(|&s| s == 0) {
        return Err(NetworkError::invalid(format!(
            "{what} {empty} has no {member}: {what} labels must be 0..{} with every {what} used",
            max as usize + 1
        )));
    }
    Ok(sizes)
}

/// Strata of clusters by size: clusters sorted by size (ties by label) and cut into consecutive
/// groups of `per_stratum` (the last group takes the remainder), so that complete
/// randomization within strata balances cluster sizes across the arms. `per_stratum = 2` gives
/// matched pairs.
pub fn size_strata(cluster_sizes: &[u32], per_stratum: usize) -> Result<Vec<u32>> {
    if per_stratum < 2 {
        return Err(NetworkError::invalid(format!(
            "{per_stratum} clusters per stratum: complete randomization within a stratum needs at least 2"
        )));
    }
    if cluster_sizes.len() < per_stratum {
        return Err(NetworkError::invalid(format!(
            "{} clusters cannot fill one stratum of {per_stratum}",
            cluster_sizes.len()
        )));
    }
    let mut order: Vec<u32> = (0..cluster_sizes.len() as u32).collect();
    order.sort_by_key(|&c| (cluster_sizes[c as usize], c));
    let full = cluster_sizes.len() / per_stratum;
    let mut strata = vec![0u32; cluster_sizes.len()];
    for (rank, &c) in order.iter().enumerate() {
        strata[c as usize] = (rank / per_stratum).min(full - 1) as u32;
    }
    Ok(strata)
}

impl Design {
    /// Unit-level Bernoulli(p) on `nodes` nodes: every node treated independently.
    pub fn unit_bernoulli(nodes: usize, p: f64) -> Result<Design> {
        check_p(p)?;
        Design::build(Level::Unit, unit_labels(nodes)?, Scheme::Bernoulli { p })
    }

    /// Unit-level complete randomization: exactly `round(p·nodes)` nodes treated.
    pub fn unit_complete(nodes: usize, p: f64) -> Result<Design> {
        check_p(p)?;
        let labels = unit_labels(nodes)?;
        let strata = Strata::new(vec![0; nodes], p)?;
        Design::build(Level::Unit, labels, Scheme::Complete { randomization: Randomization::Complete, p, strata })
    }

    /// Cluster-level Bernoulli(p): every cluster treated independently with probability `p`,
    /// all nodes of a cluster alike (Ugander et al. 2013, §2). `labels[i]` is the cluster of
    /// node `i`, in `0..C` with every cluster used.
    pub fn cluster_bernoulli(labels: &[u32], p: f64) -> Result<Design> {
        check_p(p)?;
        Design::build(Level::Cluster, labels.to_vec(), Scheme::Bernoulli { p })
    }

    /// Cluster-level complete randomization: exactly `round(p·C)` of the `C` clusters treated.
    pub fn cluster_complete(labels: &[u32], p: f64) -> Result<Design> {
        check_p(p)?;
        let sizes = cluster_sizes(labels)?;
        let strata = Strata::new(vec![0; sizes.len()], p)?;
        Design::build(
            Level::Cluster,
            labels.to_vec(),
            Scheme::Complete { randomization: Randomization::Complete, p, strata },
        )
    }

    /// Cluster-level complete randomization within strata: `strata[c]` is the stratum of
    /// cluster `c` (labels `0..S`, every stratum used, at least two clusters each), and
    /// `round(p·C_s)` of the `C_s` clusters of every stratum are treated.
    pub fn cluster_stratified(labels: &[u32], strata: &[u32], p: f64) -> Result<Design> {
        check_p(p)?;
        let sizes = cluster_sizes(labels)?;
        if strata.len() != sizes.len() {
            return Err(NetworkError::invalid(format!(
                "{} strata labels for {} clusters: expected one stratum per cluster",
                strata.len(),
                sizes.len()
            )));
        }
        let strata = Strata::new(strata.to_vec(), p)?;
        Design::build(
            Level::Cluster,
            labels.to_vec(),
            Scheme::Complete { randomization: Randomization::Stratified, p, strata },
        )
    }

    fn build(level: Level, labels: Vec<u32>, scheme: Scheme) -> Result<Design> {
        let sizes = cluster_sizes(&labels)?;
        if sizes.len() < 2 {
            return Err(NetworkError::invalid(format!(
                "{} cluster: a randomized design needs at least 2 clusters to compare arms",
                sizes.len()
            )));
        }
        if sizes.len() > u32::MAX as usize {
            return Err(NetworkError::invalid(format!("{} clusters: at most {} are supported", sizes.len(), u32::MAX)));
        }
        Ok(Design { level, labels, sizes, scheme })
    }

    /// Unit or cluster randomization.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Bernoulli, complete or stratified randomization.
    pub fn randomization(&self) -> Randomization {
        match &self.scheme {
            Scheme::Bernoulli { .. } => Randomization::Bernoulli,
            Scheme::Complete { randomization, .. } => *randomization,
        }
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.labels.len()
    }

    /// Number of clusters `C`.
    pub fn num_clusters(&self) -> usize {
        self.sizes.len()
    }

    /// The cluster of every node.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The number of nodes of every cluster.
    pub fn cluster_sizes(&self) -> &[u32] {
        &self.sizes
    }

    /// The marginal probability that cluster `cluster` is treated: `p` under Bernoulli,
    /// `m_s / C_s` under complete randomization within its stratum `s`.
    pub fn cluster_probability(&self, cluster: usize) -> f64 {
        match &self.scheme {
            Scheme::Bernoulli { p } => *p,
            Scheme::Complete { strata, .. } => {
                let s = strata.of_cluster[cluster] as usize;
                f64::from(strata.treated[s]) / f64::from(strata.clusters[s])
            }
        }
    }

    /// The marginal probability that node `node` is treated (that of its cluster).
    pub fn node_probability(&self, node: usize) -> f64 {
        self.cluster_probability(self.labels[node] as usize)
    }

    pub(crate) fn scheme(&self) -> SchemeView<'_> {
        match &self.scheme {
            Scheme::Bernoulli { p } => SchemeView::Bernoulli(*p),
            Scheme::Complete { strata, .. } => SchemeView::Complete(strata),
        }
    }

    /// What the design is, for a design summary.
    pub fn summary(&self) -> DesignSummary {
        let (p, strata, treated) = match &self.scheme {
            Scheme::Bernoulli { p } => (*p, 0, None),
            Scheme::Complete { p, strata, .. } => {
                (*p, strata.clusters.len(), Some(strata.treated.iter().map(|&m| m as usize).sum::<usize>()))
            }
        };
        DesignSummary {
            level: self.level,
            randomization: self.randomization(),
            p,
            nodes: self.num_nodes(),
            clusters: self.num_clusters(),
            strata,
            treated_clusters: treated,
            min_cluster_size: self.sizes.iter().copied().min().unwrap_or(0),
            max_cluster_size: self.sizes.iter().copied().max().unwrap_or(0),
            mean_cluster_size: self.num_nodes() as f64 / self.num_clusters() as f64,
        }
    }

    /// Draws one assignment from `seed`; the same seed gives the same assignment on any number
    /// of threads.
    pub fn draw(&self, seed: u64) -> Assignment {
        let mut clusters = vec![0u8; self.num_clusters()];
        match &self.scheme {
            Scheme::Bernoulli { p } => {
                clusters.par_chunks_mut(BLOCK).enumerate().for_each(|(block, chunk)| {
                    let mut rng = stream(seed, PURPOSE_BERNOULLI, block as u64);
                    for z in chunk {
                        *z = u8::from(rng.random::<f64>() < *p);
                    }
                });
            }
            Scheme::Complete { strata, .. } => {
                let picks: Vec<Vec<u32>> = (0..strata.clusters.len())
                    .into_par_iter()
                    .map(|s| {
                        let mut rng = stream(seed, PURPOSE_COMPLETE, s as u64);
                        let mut members = strata.members[strata.offsets[s]..strata.offsets[s + 1]].to_vec();
                        let m = strata.treated[s] as usize;
                        for k in 0..m {
                            let j = rng.random_range(k..members.len());
                            members.swap(k, j);
                        }
                        members.truncate(m);
                        members
                    })
                    .collect();
                for c in picks.into_iter().flatten() {
                    clusters[c as usize] = 1;
                }
            }
        }
        let nodes = self.labels.par_iter().map(|&c| clusters[c as usize]).collect();
        Assignment { clusters, nodes }
    }
}

fn unit_labels(nodes: usize) -> Result<Vec<u32>> {
    if nodes > u32::MAX as usize {
        return Err(NetworkError::invalid(format!("{nodes} nodes: at most {} are supported", u32::MAX)));
    }
    Ok((0..nodes as u32).collect())
}

impl Strata {
    fn new(of_cluster: Vec<u32>, p: f64) -> Result<Strata> {
        let clusters = count_labels(&of_cluster, "stratum", "cluster")?;
        let mut treated = Vec::with_capacity(clusters.len());
        for (s, &c) in clusters.iter().enumerate() {
            if c < 2 {
                return Err(NetworkError::invalid(format!(
                    "stratum {s} has 1 cluster: complete randomization within a stratum needs at least 2"
                )));
            }
            let m = (p * f64::from(c)).round() as u32;
            if m == 0 || m == c {
                return Err(NetworkError::invalid(format!(
                    "p = {p} treats {m} of the {c} clusters of stratum {s} (round(p·C)): complete randomization \
                     needs between 1 and {} treated",
                    c - 1
                )));
            }
            treated.push(m);
        }
        let mut offsets = vec![0usize; clusters.len() + 1];
        for (s, &c) in clusters.iter().enumerate() {
            offsets[s + 1] = offsets[s] + c as usize;
        }
        let mut fill = offsets[..clusters.len()].to_vec();
        let mut members = vec![0u32; of_cluster.len()];
        for (c, &s) in of_cluster.iter().enumerate() {
            members[fill[s as usize]] = c as u32;
            fill[s as usize] += 1;
        }
        Ok(Strata { of_cluster, clusters, treated, offsets, members })
    }
}

impl Assignment {
    /// The assignment of the given clusters (0 control, 1 treated) under `design`, checked
    /// against it: one value per cluster, and under complete randomization exactly `m_s`
    /// treated clusters in every stratum.
    pub fn from_clusters(design: &Design, clusters: Vec<u8>) -> Result<Assignment> {
        if clusters.len() != design.num_clusters() {
            return Err(NetworkError::invalid(format!(
                "{} cluster assignments for a design of {} clusters",
                clusters.len(),
                design.num_clusters()
            )));
        }
        if let Some((c, z)) = clusters.iter().enumerate().find(|(_, &z)| z > 1) {
            return Err(NetworkError::invalid(format!("cluster {c} has assignment {z}: expected 0 or 1")));
        }
        if let Scheme::Complete { strata, .. } = &design.scheme {
            let mut count = vec![0u32; strata.clusters.len()];
            for (c, &z) in clusters.iter().enumerate() {
                count[strata.of_cluster[c] as usize] += u32::from(z);
            }
            if let Some(s) = (0..count.len()).find(|&s| count[s] != strata.treated[s]) {
                return Err(NetworkError::invalid(format!(
                    "stratum {s} has {} treated clusters: the design treats exactly {} of its {}",
                    count[s], strata.treated[s], strata.clusters[s]
                )));
            }
        }
        let nodes = design.labels.par_iter().map(|&c| clusters[c as usize]).collect();
        Ok(Assignment { clusters, nodes })
    }

    /// The assignment of the given nodes (0 control, 1 treated) under `design`: every node of
    /// a cluster must share its assignment (the first node that does not is named).
    pub fn from_nodes(design: &Design, nodes: &[u8]) -> Result<Assignment> {
        if nodes.len() != design.num_nodes() {
            return Err(NetworkError::invalid(format!(
                "{} node assignments for a design of {} nodes",
                nodes.len(),
                design.num_nodes()
            )));
        }
        let mut clusters = vec![u8::MAX; design.num_clusters()];
        for (i, (&z, &c)) in nodes.iter().zip(&design.labels).enumerate() {
            if z > 1 {
                return Err(NetworkError::invalid(format!("node {i} has assignment {z}: expected 0 or 1")));
            }
            let slot = &mut clusters[c as usize];
            if *slot == u8::MAX {
                *slot = z;
            } else if *slot != z {
                return Err(NetworkError::invalid(format!(
                    "node {i} has assignment {z} but other nodes of its cluster {c} have {}: a cluster design \
                     assigns whole clusters",
                    *slot
                )));
            }
        }
        Assignment::from_clusters(design, clusters)
    }

    /// The assignment of every cluster (0 control, 1 treated).
    pub fn clusters(&self) -> &[u8] {
        &self.clusters
    }

    /// The assignment of every node (0 control, 1 treated).
    pub fn nodes(&self) -> &[u8] {
        &self.nodes
    }

    /// Number of treated clusters.
    pub fn treated_clusters(&self) -> usize {
        self.clusters.iter().filter(|&&z| z == 1).count()
    }

    /// Number of treated nodes.
    pub fn treated_nodes(&self) -> usize {
        self.nodes.iter().filter(|&&z| z == 1).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_and_thread_independent() {
        let labels: Vec<u32> = (0..20_000u32).map(|i| i % 9000).collect();
        let d = Design::cluster_bernoulli(&labels, 0.3).unwrap();
        let a = d.draw(42);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b = pool.install(|| d.draw(42));
        assert_eq!(a, b);
        assert_ne!(a, d.draw(43));
        for (i, &c) in labels.iter().enumerate() {
            assert_eq!(a.nodes()[i], a.clusters()[c as usize]);
        }
        let share = a.treated_clusters() as f64 / 9000.0;
        assert!((share - 0.3).abs() < 0.02, "{share}");
    }

    #[test]
    fn complete_randomization_treats_exactly_m_per_stratum() {
        let labels: Vec<u32> = (0..300u32).map(|i| i / 3).collect();
        let strata: Vec<u32> = (0..100u32).map(|c| c / 10).collect();
        let d = Design::cluster_stratified(&labels, &strata, 0.3).unwrap();
        for seed in 0..20 {
            let a = d.draw(seed);
            for s in 0..10 {
                let k: u32 = (0..100).filter(|&c| strata[c] == s).map(|c| u32::from(a.clusters()[c])).sum();
                assert_eq!(k, 3);
            }
            assert_eq!(Assignment::from_nodes(&d, a.nodes()).unwrap(), a);
        }
        assert_eq!(d.cluster_probability(7), 0.3);
        let u = Design::unit_complete(11, 0.5).unwrap();
        assert_eq!(u.draw(1).treated_nodes(), 6);
    }

    #[test]
    fn bad_input_is_named() {
        let e = Design::unit_bernoulli(10, 1.0).unwrap_err().to_string();
        assert!(e.contains("p = 1"), "{e}");
        let e = Design::cluster_bernoulli(&[0, 2, 2], 0.5).unwrap_err().to_string();
        assert!(e.contains("cluster 1 has no node"), "{e}");
        let e = Design::cluster_bernoulli(&[0, 0], 0.5).unwrap_err().to_string();
        assert!(e.contains("1 cluster"), "{e}");
        let e = Design::cluster_stratified(&[0, 1, 2], &[0, 0, 1], 0.5).unwrap_err().to_string();
        assert!(e.contains("stratum 1 has 1 cluster"), "{e}");
        let e = Design::cluster_stratified(&[0, 1, 2], &[0, 0], 0.5).unwrap_err().to_string();
        assert!(e.contains("2 strata labels for 3 clusters"), "{e}");
        let e = Design::cluster_complete(&[0, 1, 2, 3], 0.05).unwrap_err().to_string();
        assert!(e.contains("treats 0 of the 4"), "{e}");
        let d = Design::cluster_complete(&[0, 0, 1, 1], 0.5).unwrap();
        let e = Assignment::from_nodes(&d, &[1, 0, 0, 0]).unwrap_err().to_string();
        assert!(e.contains("node 1 has assignment 0"), "{e}");
        let e = Assignment::from_clusters(&d, vec![1, 1]).unwrap_err().to_string();
        assert!(e.contains("stratum 0 has 2 treated"), "{e}");
    }

    #[test]
    fn size_strata_groups_similar_sizes() {
        let sizes = [5, 1, 9, 2, 8, 3, 7];
        let s = size_strata(&sizes, 2).unwrap();
        // Sorted by size: 1(c1) 2(c3) | 3(c5) 5(c0) | 7(c6) 8(c4) 9(c2) (the remainder joins the last).
        assert_eq!(s, vec![1, 0, 2, 0, 2, 1, 2]);
        assert!(size_strata(&sizes, 1).is_err());
    }
}
