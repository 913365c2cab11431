//! The `cateye forest` job end to end on small generated files: outputs, and a clear error
//! (file, column, row, what was expected) for every bad input.

use cateye::forest::{fit_forest, ForestOptions, ForestSpec, ForestSummary};
use cateye::{PropensitySpec, Source};
use cateye_sim::randomized_trial;
use cateye_testkit::temp_dir;
use std::path::{Path, PathBuf};

/// A forest job on a file: what to fit and where to write it.
struct ForestJob {
    file: PathBuf,
    spec: ForestSpec,
    output: PathBuf,
    summary: PathBuf,
}

impl std::ops::Deref for ForestJob {
    type Target = ForestSpec;
    fn deref(&self) -> &ForestSpec {
        &self.spec
    }
}

impl std::ops::DerefMut for ForestJob {
    fn deref_mut(&mut self) -> &mut ForestSpec {
        &mut self.spec
    }
}

/// Reads the file, fits, writes the outputs; returns the summary.
fn run_forest_job(job: &ForestJob) -> cateye::Result<ForestSummary> {
    let mut run = fit_forest(&Source::open(&job.file)?, &job.spec)?;
    let dir = job.output.parent().expect("a folder");
    assert_eq!(job.summary.parent(), Some(dir), "the summary is written beside the per-unit table");
    let mut out = cateye::OutputDir::prepare(dir, vec!["forest_job test".into()], &[])?;
    run.write(&mut out, &job.output.file_name().expect("a file name").to_string_lossy())?;
    Ok(run.summary)
}

/// A CSV of a randomized trial: x1..x3, w, y (and a cluster column g), with `edit(row, fields)` applied.
fn trial_csv(dir: &Path, name: &str, n: usize, edit: impl Fn(usize, &mut Vec<String>)) -> PathBuf {
    let sim = randomized_trial(n, 3, 1.0, 1.0, 1.0, 4);
    let mut text = String::from("x1,x2,x3,w,y,g\n");
    for i in 0..n {
        let mut fields: Vec<String> = vec![sim.x[0][i].to_string(), sim.x[1][i].to_string(), sim.x[2][i].to_string()];
        fields.push((sim.w[i] as u8).to_string());
        fields.push(sim.y[i].to_string());
        fields.push(format!("c{}", i % 40));
        edit(i, &mut fields);
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn job(file: PathBuf, dir: &Path) -> ForestJob {
    let spec = ForestSpec::new("y", "w")
        .covariates(vec!["x1".into(), "x2".into(), "x3".into()])
        .propensity(PropensitySpec::Known(0.5))
        .options(ForestOptions::default().with(|c| {
            c.num_trees = 100;
            c.seed = 3;
            c.max_bins = 256;
        }));
    ForestJob { file, spec, output: dir.join("cate.csv"), summary: dir.join("forest.json") }
}

fn error_of(job: &ForestJob) -> String {
    run_forest_job(job).expect_err("bad input must be an error").to_string()
}

#[test]
fn writes_per_unit_estimates_and_a_summary() {
    let dir = temp_dir("forest-ok");
    let file = trial_csv(&dir, "trial.csv", 800, |_, _| {});
    let mut j = job(file.clone(), &dir);
    j.covariates = None; // every other numeric column: x1..x3 (g is a string column)
    let summary = run_forest_job(&j).unwrap();
    assert_eq!(summary.covariates, ["x1", "x2", "x3"]);
    assert_eq!(summary.rows, 800);
    let csv = std::fs::read_to_string(&j.output).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "row,cate,se,ci_lower,ci_upper,y_hat,w_hat,dr_score");
    assert_eq!(lines.count(), 800);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&j.summary).unwrap()).unwrap();
    assert_eq!(json["average_treatment_effect"].as_array().unwrap().len(), 4);
    assert!(json["calibration"]["differential_forest_prediction"]["estimate"].is_number());
    // Parquet output and clusters.
    j.output = dir.join("cate.parquet");
    j.cluster = Some("g".into());
    let clustered = run_forest_job(&j).unwrap();
    assert!(std::fs::metadata(&j.output).unwrap().len() > 0);
    assert!(clustered.average_treatment_effect[0].se > 0.0);
}

#[test]
fn bad_inputs_are_named() {
    let dir = temp_dir("forest-bad");
    let non_binary = trial_csv(&dir, "nonbinary.csv", 300, |i, f| {
        if i == 17 {
            f[3] = "2".into()
        }
    });
    let e = error_of(&job(non_binary, &dir));
    assert!(
        e.contains("nonbinary.csv") && e.contains("'w'") && e.contains("row 18 (1-based)") && e.contains("0/1"),
        "{e}"
    );

    let constant = trial_csv(&dir, "constant.csv", 300, |_, f| f[3] = "1".into());
    let e = error_of(&job(constant, &dir));
    assert!(e.contains("constant.csv") && e.contains("w") && e.contains("constant"), "{e}");

    // A missing covariate value is fitted (MIA); a missing outcome is an error naming its row.
    let missing = trial_csv(&dir, "missing.csv", 300, |i, f| {
        if i == 5 {
            f[1] = String::new()
        }
    });
    let summary = run_forest_job(&job(missing, &dir)).expect("a missing covariate value is fitted");
    let terms: Vec<&str> = summary.best_linear_projection.iter().flatten().map(|c| c.term.as_str()).collect();
    assert!(terms.contains(&"x2 (missing)"), "{terms:?}");
    let missing_outcome = trial_csv(&dir, "missing-y.csv", 300, |i, f| {
        if i == 5 {
            f[4] = String::new()
        }
    });
    let e = error_of(&job(missing_outcome, &dir));
    assert!(e.contains("'y'") && e.contains("row 6 (1-based)") && e.contains("missing"), "{e}");

    let few = trial_csv(&dir, "few.csv", 30, |_, _| {});
    let e = error_of(&job(few, &dir));
    assert!(e.contains("too few rows (30)") && e.contains("min_node_size"), "{e}");

    let ok = trial_csv(&dir, "ok.csv", 300, |_, _| {});
    let mut j = job(ok.clone(), &dir);
    j.covariates = Some(vec!["x1".into(), "age".into()]);
    let e = error_of(&j);
    assert!(e.contains("'age'") && e.contains("x1, x2, x3, w, y, g"), "{e}");

    j.covariates = Some(vec!["x1".into(), "g".into()]);
    let e = error_of(&j);
    assert!(e.contains("'g'") && e.contains("numeric"), "{e}");

    let mut j = job(ok, &dir);
    j.propensity = PropensitySpec::Known(1.5);
    let e = error_of(&j);
    assert!(e.contains("propensity") && e.contains("1.5"), "{e}");
}

#[test]
fn an_arm_too_small_or_one_column_in_two_roles_is_refused() {
    let dir = temp_dir("forest-arms");
    // One treated unit of 2,000 (the rest control).
    let one = trial_csv(&dir, "one_treated.csv", 2000, |i, f| f[3] = if i == 7 { "1".into() } else { "0".into() });
    let e = error_of(&job(one, &dir));
    assert!(e.contains("one_treated.csv") && e.contains("treated units: 1;") && e.contains("at least 10"), "{e}");
    let ok = trial_csv(&dir, "roles.csv", 300, |_, _| {});
    let mut j = job(ok.clone(), &dir);
    j.outcome = "w".into();
    let e = error_of(&j);
    assert!(e.contains("'w'") && e.contains("both the outcome and the treatment"), "{e}");
    let mut cate = cateye::cate::CateSpec::new("w", "w");
    cate.config.bases = vec![cateye::cate::BaseKind::Linear];
    let e = cateye::cate::fit_cate(&Source::open(&ok).unwrap(), &cate).unwrap_err().to_string();
    assert!(e.contains("both the outcome and the treatment"), "{e}");
}

#[test]
fn a_stated_propensity_that_contradicts_the_data_is_a_warning() {
    let dir = temp_dir("forest-propensity");
    let file = trial_csv(&dir, "trial.csv", 800, |_, _| {});
    let mut j = job(file, &dir);
    j.propensity = PropensitySpec::Known(0.9);
    let summary = run_forest_job(&j).unwrap();
    assert!(
        summary.warnings.iter().any(|w| w.contains("0.900") && w.contains("contradicts")),
        "{:?}",
        summary.warnings
    );
    j.propensity = PropensitySpec::Known(0.5);
    assert!(run_forest_job(&j).unwrap().warnings.is_empty());
}
