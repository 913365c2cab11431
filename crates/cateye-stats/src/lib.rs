//! Statistics of the cateye scan, free of any I/O: mergeable moments, the tests of one
//! experiment (SRM, average effects with CUPED, variance-ratio detection, heterogeneity across
//! the levels of a dimension) and multiple-testing corrections.
//!
//! | module | computes |
//! |---|---|
//! | [`moments`] | mergeable central moments (the sufficient statistics) |
//! | [`dist`] | normal, Student-t and chi-square tails and quantiles, with large-df guards |
//! | [`effect`] | difference in means (Welch), CUPED, relative lift |
//! | [`cluster`] | cluster-robust (CR1) variance of an arm mean |
//! | [`srm`] | sample-ratio-mismatch chi-square test |
//! | [`variance_ratio`] | detection of effect variation without breakdowns |
//! | [`heterogeneity`] | Cochran's Q and the debiased between-level effect variance |
//! | [`multiple`] | Benjamini–Hochberg, Benjamini–Yekutieli, Holm, Bonferroni |
//! | [`randomization`] | Fisher randomization test of effect variation (Ding, Feller & Miratrix 2016) |

pub mod cluster;
pub mod dist;
pub mod effect;
pub mod heterogeneity;
pub mod moments;
pub mod multiple;
pub mod randomization;
pub mod srm;
pub mod variance_ratio;

pub use effect::Estimate;
pub use moments::{JointMoments, Moments, PowerSums};
pub use multiple::Correction;
