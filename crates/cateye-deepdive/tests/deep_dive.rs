//! The deep dive's selection, inputs and determinism on the built-in demo data.

mod common;

use cateye_deepdive::{select_pairs, DeepDiveConfig, Selection};
use common::{deep_dive_file, scan_file};

#[test]
fn selection_takes_the_strongest_flagged_pairs_and_the_requested_ones() {
    let (dir, path, demo_config) = common::demo("dd-select", 5);
    let (_, result) = scan_file(&path, &demo_config).unwrap();
    let all = select_pairs(&result, &DeepDiveConfig::default().with(|c| c.pairs = Selection::All), 0.05).unwrap();
    assert!(all.flagged >= 4, "the demo plants heterogeneity in at least 4 pairs");
    assert!(all.selected.windows(2).all(|w| w[0].evidence_q <= w[1].evidence_q), "strongest evidence first");
    assert!(all.selected.iter().all(|p| !p.flagged_by.is_empty() && p.evidence_q <= 0.05));
    let two = select_pairs(&result, &DeepDiveConfig::default().with(|c| c.pairs = Selection::Top(2)), 0.05).unwrap();
    assert_eq!(two.selected, all.selected[..2].to_vec());
    assert_eq!(two.not_selected.len(), all.flagged - 2);
    // A flagged pair beyond the cap that is requested is analysed as flagged, once.
    let third = &all.selected[2];
    let config = DeepDiveConfig::default().with(|c| {
        c.pairs = Selection::Top(2);
        c.requested = vec![format!("{}:{}:{}", third.experiment, third.metric, third.arm)];
    });
    let capped = select_pairs(&result, &config, 0.05).unwrap();
    assert_eq!(capped.selected.len(), 3);
    assert_eq!(capped.selected[2].reason, "flagged");
    assert_eq!(capped.not_selected.len(), all.flagged - 3);
    // A requested pair that is not flagged is added; an unknown one is an error naming it.
    let config = DeepDiveConfig::default().with(|c| {
        c.pairs = Selection::None;
        c.requested = vec!["dark_mode:revenue".into()];
    });
    let requested = select_pairs(&result, &config, 0.05).unwrap();
    assert_eq!(requested.selected.len(), 1);
    assert_eq!(
        (requested.selected[0].experiment.as_str(), requested.selected[0].reason.as_str()),
        ("dark_mode", "requested")
    );
    let config = DeepDiveConfig::default().with(|c| c.requested = vec!["dark_mode:clicks".into()]);
    assert!(select_pairs(&result, &config, 0.05).unwrap_err().to_string().contains("'dark_mode:clicks'"));
    let config = DeepDiveConfig::default().with(|c| c.requested = vec!["dark_mode".into()]);
    assert!(select_pairs(&result, &config, 0.05).unwrap_err().to_string().contains("experiment:metric"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_covariate_column_is_an_error_naming_it() {
    let (dir, path, config) = common::demo("dd-covariate", 5);
    let dd = DeepDiveConfig::default().with(|c| {
        c.pairs = Selection::Top(1);
        c.covariates = vec!["age".into()];
    });
    let (stats, result) = scan_file(&path, &config).unwrap();
    let e = deep_dive_file(&path, &config, &dd, &stats, &result).unwrap_err().to_string();
    assert!(e.contains("'age'") && e.contains("deep-dive covariate"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_deep_dive_does_not_depend_on_the_thread_count() {
    let (dir, path, config) = common::demo("dd-determinism", 5);
    let dd = DeepDiveConfig::default().with(|c| {
        c.pairs = Selection::Top(2);
        c.requested = vec!["free_shipping:converted:threshold_50".into()];
        c.trees = 200;
        c.permutations = 200;
    });
    let (stats, result) = scan_file(&path, &config).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut report = pool.install(|| deep_dive_file(&path, &config, &dd, &stats, &result)).unwrap();
        for d in &mut report.pairs {
            d.seconds = Default::default();
        }
        serde_json::to_string(&report).unwrap()
    };
    let one = run(1);
    assert!(one.contains("uninformative_two_valued"), "the binary metric skips the randomization test");
    assert!(one == run(2), "2 threads differ from 1");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical test: run with --release")]
fn a_pair_above_the_cap_is_analysed_on_a_seeded_stratified_subsample() {
    let (dir, path, config) = common::demo("dd-subsample", 3);
    let run = |max_units: usize, seed: u64| {
        let dd = DeepDiveConfig::default().with(|c| {
            c.pairs = Selection::None;
            c.requested = vec!["checkout_redesign:revenue".into()];
            c.trees = 500;
            c.max_units = max_units;
            c.seed = seed;
        });
        let (stats, result) = scan_file(&path, &config).unwrap();
        let mut report = deep_dive_file(&path, &config, &dd, &stats, &result).unwrap();
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        let mut pair = report.pairs.remove(0);
        pair.seconds = Default::default();
        pair
    };
    let whole = run(200_000, 0);
    assert_eq!(whole.data.subsampled_from, None, "20,000 units are below the default cap");
    let sub = run(5000, 0);
    let [t, c] = sub.data.subsampled_from.expect("subsampled");
    assert_eq!([t, c], whole.data.units, "the counts before subsampling are the pair's units");
    let [ts, cs] = sub.data.units;
    assert!(ts + cs >= 4999 && ts + cs <= 5001, "{ts} + {cs}");
    let share = |k: usize, n: usize| k as f64 / n as f64;
    assert!((share(ts, t) - share(cs, c)).abs() < 1.0 / 2000.0, "the same share of each arm");
    // Seeded: the same subsample and results again, another one with another seed.
    let json = |d: &cateye_deepdive::DeepDive| serde_json::to_string(d).unwrap();
    assert_eq!(json(&sub), json(&run(5000, 0)));
    assert_ne!(sub.ate.estimate, run(5000, 1).ate.estimate);
    // The subsample still finds the planted dimension, and an average effect within its error.
    assert_eq!(sub.surface.dimensions[0].dimension, "platform");
    assert!((sub.ate.estimate - whole.ate.estimate).abs() < 3.0 * sub.ate.se, "{:?} vs {:?}", sub.ate, whole.ate);
    let _ = std::fs::remove_dir_all(&dir);
}
