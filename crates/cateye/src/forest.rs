//! The causal forest job: one experiment's unit-level rows (any [`Source`]) → an honest causal
//! forest (`cateye_forest`) → per-unit effects with intervals, the analyses of `cateye_hte`
//! (AIPW effects, calibration test, RATE, variable importance), and a model that predicts new
//! rows. All statistics live in those crates; this module reads, validates and assembles.

use crate::columns::JobColumns;
use crate::error::{Error, Result};
use crate::model::ForestModel;
use crate::propensity::PropensitySpec;
use crate::units::UnitTable;
use cateye_forest::{fit_causal_forest_reporting, variable_importance, CausalForestModel, CausalInput};
use cateye_hte::{
    average_treatment_effect, best_linear_projection, cate_profile, doubly_robust_scores,
    rank_average_treatment_effect, test_calibration, AteEstimate, CalibrationTest, CateProfile, Coefficient, Rate,
    RateOptions, TargetSample,
};
use cateye_io::{OutputDir, Source};
use cateye_stats::Z_975;
use cateye_stats::{Moments, Progress};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

pub use cateye_forest::{shard, CausalShards, ForestOptions, NuisancePartials, RowsAndNew, DEFAULT_MAX_BINS};

/// Bins of the CATE histogram and ranked units of the [`CateProfile`] of a forest or learner job.
pub(crate) const PROFILE_BINS: usize = 40;
pub(crate) const PROFILE_POINTS: usize = 100;

/// What to fit: the columns' roles and the forest's settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ForestSpec {
    /// Outcome column.
    pub outcome: String,
    /// Treatment column (0/1 or boolean).
    pub treatment: String,
    /// Covariate columns; `None` = every other numeric column.
    pub covariates: Option<Vec<String>>,
    /// Where the propensity comes from (default: estimated by a regression forest).
    pub propensity: PropensitySpec,
    /// Column of outcome-model estimates `E[Y | X]` (out of fold), as grf's `Y.hat`; `None`:
    /// fitted by a regression forest.
    pub y_hat: Option<String>,
    /// Sample-weight column.
    pub weights: Option<String>,
    /// Sampling-cluster column: trees sample whole clusters, standard errors become cluster-robust.
    pub cluster: Option<String>,
    /// Forest settings (grf's defaults).
    pub options: ForestOptions,
}

impl ForestSpec {
    /// A forest of `outcome` on `treatment` with grf's defaults and an estimated propensity.
    pub fn new(outcome: impl Into<String>, treatment: impl Into<String>) -> Self {
        ForestSpec {
            outcome: outcome.into(),
            treatment: treatment.into(),
            covariates: None,
            propensity: PropensitySpec::Estimate,
            y_hat: None,
            weights: None,
            cluster: None,
            options: ForestOptions::default(),
        }
    }

    /// The same spec with these covariates.
    pub fn covariates(mut self, covariates: Vec<String>) -> Self {
        self.covariates = Some(covariates);
        self
    }

    /// The same spec with this propensity.
    pub fn propensity(mut self, propensity: PropensitySpec) -> Self {
        self.propensity = propensity;
        self
    }

    /// The same spec with these forest options.
    pub fn options(mut self, options: ForestOptions) -> Self {
        self.options = options;
        self
    }
}

/// Variable importance of one covariate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Importance {
    /// The covariate.
    pub covariate: String,
    /// Its split-frequency importance.
    pub importance: f64,
}

/// Wall-clock seconds per stage.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct JobTimings {
    /// Reading the columns.
    pub load: f64,
    /// Binning the covariates.
    pub binning: f64,
    /// Nuisance forests.
    pub nuisance: f64,
    /// The causal forest.
    pub forest: f64,
    /// Out-of-bag predictions with variances.
    pub oob_predictions: f64,
    /// AIPW effects, calibration, RATE, importance.
    pub analysis: f64,
    /// Writing the outputs.
    pub write: f64,
    /// Everything.
    pub total: f64,
}

/// The summary of a forest fit (written as `forest.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ForestSummary {
    /// The input's label (its file name).
    pub file: String,
    /// Rows fitted.
    pub rows: usize,
    /// Outcome column.
    pub outcome: String,
    /// Treatment column.
    pub treatment: String,
    /// Covariate columns.
    pub covariates: Vec<String>,
    /// Where the propensity came from.
    pub propensity: String,
    /// Smallest propensity used.
    pub propensity_min: f64,
    /// Largest propensity used.
    pub propensity_max: f64,
    /// Rows whose propensity was clipped to [0.001, 0.999] in the doubly robust scores.
    pub propensity_clipped: usize,
    /// The forest's settings.
    pub options: ForestOptions,
    /// Trees grown.
    pub trees: usize,
    /// AIPW effects on all, treated, control, and overlap-weighted.
    pub average_treatment_effect: Vec<AteEstimate>,
    /// The omnibus calibration test.
    pub calibration: CalibrationTest,
    /// RATE with the out-of-bag CATE as priority (in-sample: optimistic; use held-out data for a formal test).
    pub rate: Rate,
    /// Split-frequency importance of each covariate.
    pub variable_importance: Vec<Importance>,
    /// Mean of the out-of-bag CATE.
    pub cate_mean: f64,
    /// Standard deviation of the out-of-bag CATE.
    pub cate_sd: f64,
    /// Share of units whose 95% CI lies above zero.
    pub share_ci_above_zero: f64,
    /// Share of units whose 95% CI lies below zero.
    pub share_ci_below_zero: f64,
    /// Histogram and quantiles of the out-of-bag CATE, and 100 units at evenly spaced ranks with
    /// their 95% intervals (absent from summaries written before it was recorded).
    #[serde(default)]
    pub cate_profile: Option<CateProfile>,
    /// Best linear projection of the CATE on the covariates (grf's
    /// `best_linear_projection(forest, X)`: OLS of the doubly robust scores with HC3 errors);
    /// absent when the regression is singular (a warning says so) or in older summaries.
    #[serde(default)]
    pub best_linear_projection: Option<Vec<Coefficient>>,
    /// Caveats the user must know about (a stated propensity that contradicts the data, ...).
    pub warnings: Vec<String>,
    /// Seconds per stage.
    pub timings: JobTimings,
    /// Files written.
    pub outputs: Vec<String>,
}

/// A fitted forest job: its summary, the per-unit estimates and the model.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ForestRun {
    /// The summary (`forest.json`).
    pub summary: ForestSummary,
    /// Per unit: `cate`, `se`, `ci_lower`, `ci_upper` (out of bag), `y_hat`, `w_hat`, `dr_score`.
    pub units: UnitTable,
    /// The fitted forest, which predicts new rows.
    pub model: ForestModel,
}

impl ForestRun {
    /// Writes the per-unit estimates as `units_file` (Parquet, or CSV by its extension) and the
    /// summary as `forest.json` into `out`, replacing an earlier run's files there all together
    /// (see [`OutputDir`]); records both in the summary's outputs and the time taken.
    pub fn write(&mut self, out: &mut OutputDir, units_file: &str) -> Result<Vec<PathBuf>> {
        let t = Instant::now();
        self.units.stage(out, units_file)?;
        self.summary.outputs = [units_file, "forest.json"].map(|f| out.dir().join(f).display().to_string()).to_vec();
        self.summary.timings.write = t.elapsed().as_secs_f64();
        self.summary.timings.total += self.summary.timings.write;
        let summary = out.stage("forest.json", crate::JOB_SCHEMA_VERSION)?;
        cateye_io::write_json(&summary, &self.summary)?;
        Ok(out.commit()?)
    }
}

/// The outcome and the treatment must be different columns.
pub(crate) fn check_distinct_roles(input: &str, outcome: &str, treatment: &str) -> Result<()> {
    if outcome == treatment {
        return Err(Error::invalid(
            input,
            format!("column '{outcome}' is both the outcome and the treatment: name two different columns"),
        ));
    }
    Ok(())
}

/// The columns and binned covariates of a forest job, read and checked as `cateye forest` reads
/// them (a treatment that is not 0/1 is refused, naming its row).
struct ForestJob {
    columns: JobColumns,
    data: cateye_forest::ForestData,
}

impl ForestJob {
    fn read(source: &Source, spec: &ForestSpec, progress: Progress<'_>, timings: &mut JobTimings) -> Result<Self> {
        let input = source.label();
        check_distinct_roles(input, &spec.outcome, &spec.treatment)?;
        let mut roles: Vec<(&str, &'static str)> = vec![(&spec.outcome, "outcome"), (&spec.treatment, "treatment")];
        if let Some(c) = spec.propensity.column() {
            roles.push((c, "propensity"));
        }
        if let Some(c) = &spec.y_hat {
            roles.push((c, "y_hat"));
        }
        if let Some(w) = &spec.weights {
            roles.push((w, "weights"));
        }
        let columns = JobColumns::read(source, &roles, spec.covariates.as_deref(), spec.cluster.as_deref(), progress)?;
        // Missing values in the outcome, weights or propensity are refused by cateye_forest
        // (naming column and row; missing covariate values are incorporated in the splits); a
        // missing treatment fails the 0/1 check here.
        crate::columns::check_binary(input, &spec.treatment, "treatment", columns.role(&spec.treatment))?;
        let t = Instant::now();
        let data =
            columns.forest_data(input, spec.options.max_bins, spec.weights.as_deref(), spec.cluster.as_deref())?;
        timings.binning = t.elapsed().as_secs_f64();
        Ok(ForestJob { columns, data })
    }

    /// The outcome, treatment and nuisance inputs of the fit.
    fn causal_input<'a>(&'a self, spec: &'a ForestSpec) -> CausalInput<'a> {
        let find = |name: &str| self.columns.role(name);
        CausalInput {
            y: find(&spec.outcome),
            w: find(&spec.treatment),
            outcome: &spec.outcome,
            treatment: &spec.treatment,
            propensity: spec.propensity.resolve(spec.propensity.column().map(find)),
            y_hat: spec.y_hat.as_deref().map(find),
        }
    }
}

/// One experiment's causal forest fitted in shards of its little bags, on several machines
/// (what `cateye.spark.causal_forest` runs): the driver and every executor read the same rows
/// into a `ShardedForest`, and run the stages of [`cateye_forest::shard`] through
/// [`ShardedForest::stages`]. The merged estimates are those of [`fit_forest`] with the same
/// spec and seed.
pub struct ShardedForest {
    job: ForestJob,
    spec: ForestSpec,
    input: String,
    /// New rows to predict, binned as the training rows (row-major, one code per covariate).
    new_rows: Vec<u16>,
}

impl ShardedForest {
    /// Reads and checks the rows of `source` as [`fit_forest`] does.
    pub fn read(source: &Source, spec: &ForestSpec) -> Result<Self> {
        let job = ForestJob::read(source, spec, &cateye_stats::silent, &mut JobTimings::default())?;
        Ok(ShardedForest { job, spec: spec.clone(), input: source.label().to_string(), new_rows: Vec::new() })
    }

    /// Also predicts the rows of `new` (its columns named as the covariates), binned as the
    /// training rows.
    pub fn with_new_rows(mut self, new: &Source) -> Result<Self> {
        let names: Vec<(&str, &'static str)> =
            self.job.columns.covariates.iter().map(|c| (c.as_str(), "covariate")).collect();
        let columns = cateye_io::read_numeric_reporting(new, &names, &cateye_stats::silent)?;
        let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        self.new_rows = self.job.data.bin_new_rows(&refs).map_err(|e| Error::fit(new.label(), e))?;
        Ok(self)
    }

    /// The new rows, binned (see [`Self::with_new_rows`]).
    pub fn new_rows(&self) -> &[u16] {
        &self.new_rows
    }

    /// The stages of the fit, checked as [`fit_forest`] checks its input.
    pub fn stages(&self) -> Result<CausalShards<'_>> {
        CausalShards::new(&self.job.data, self.job.causal_input(&self.spec), &self.spec.options)
            .map_err(|e| self.error(e))
    }

    /// A forest error as this job's error (naming its input).
    pub fn error(&self, e: cateye_forest::ForestError) -> Error {
        Error::fit(&self.input, e)
    }

    /// Rows of the experiment.
    pub fn rows(&self) -> usize {
        self.job.data.num_rows()
    }
}

/// Kind of the bytes of a shard's partial sums ([`shard_bytes`]).
const SHARD_KIND: (&str, u32) = ("forest-shard", 1);

/// A stage's partial sums (or the points) as bytes (the model file's header, then postcard:
/// floats as their exact bits), to travel between an executor and its driver unchanged.
pub fn shard_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    Ok(cateye_io::encode_model(SHARD_KIND.0, SHARD_KIND.1, value)?)
}

/// What [`shard_bytes`] wrote; `what` names it in errors.
pub fn shard_from_bytes<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    Ok(cateye_io::decode_model(bytes, what, SHARD_KIND.0, SHARD_KIND.1)?)
}

/// Fits the causal forest of `spec` to the rows of `source` and runs its analyses.
pub fn fit_forest(source: &Source, spec: &ForestSpec) -> Result<ForestRun> {
    fit_forest_reporting(source, spec, &cateye_stats::silent)
}

/// [`fit_forest`], reporting its stages to `progress`: "reading" (rows), "outcome forest",
/// "propensity forest" and "causal forest" (trees), then "analyses" (no count).
pub fn fit_forest_reporting(source: &Source, spec: &ForestSpec, progress: Progress<'_>) -> Result<ForestRun> {
    let start = Instant::now();
    let mut timings = JobTimings::default();
    let input = source.label();
    let job = ForestJob::read(source, spec, progress, &mut timings)?;
    timings.load = start.elapsed().as_secs_f64() - timings.binning;
    let (columns, data) = (&job.columns, &job.data);
    let fail = |e: cateye_forest::ForestError| Error::fit(input, e);
    let y = columns.role(&spec.outcome);
    let n = y.len();
    let covariates = &columns.covariates;
    let causal = job.causal_input(spec);
    let fit = fit_causal_forest_reporting(data, causal, &spec.options, progress).map_err(fail)?;
    progress("analyses", 0, 0);
    timings.nuisance = fit.timings.nuisance;
    timings.forest = fit.timings.forest;
    timings.oob_predictions = fit.timings.oob_predictions;

    let t = Instant::now();
    let effects = fit.effects();
    let analysis = |e: cateye_stats::InputError| Error::fit(input, e);
    let ate = TargetSample::ALL
        .iter()
        .map(|&t| average_treatment_effect(&effects, t))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(analysis)?;
    let calibration = test_calibration(&effects).map_err(analysis)?;
    let rate_options = RateOptions::default().with(|c| c.seed = spec.options.seed);
    let rate = rank_average_treatment_effect(&effects, &fit.oob.tau, &rate_options).map_err(analysis)?;
    let scores = doubly_robust_scores(&effects).map_err(analysis)?;
    let importance = variable_importance(fit.forest.trees(), covariates.len(), 2.0, 4);
    let mut warnings = fit.warnings.clone();
    let named: Vec<(&str, &[f64])> =
        covariates.iter().enumerate().map(|(k, name)| (name.as_str(), columns.covariate(k))).collect();
    let blp = best_linear_projection(&effects, &named)
        .map_err(|e| warnings.push(format!("best linear projection on the covariates: {e}")))
        .ok();
    let tau = &fit.oob.tau;
    let moments = Moments::of(tau.iter().copied());
    let se: Vec<f64> = fit.oob.variance.iter().map(|v| v.sqrt()).collect();
    let above = (0..n).filter(|&i| tau[i] - Z_975 * se[i] > 0.0).count() as f64 / n as f64;
    let below = (0..n).filter(|&i| tau[i] + Z_975 * se[i] < 0.0).count() as f64 / n as f64;
    let profile = cate_profile(tau, Some(&se), PROFILE_BINS, PROFILE_POINTS);
    timings.analysis = t.elapsed().as_secs_f64();

    let units = UnitTable::new(vec![
        ("cate".into(), tau.to_vec()),
        ("se".into(), se.clone()),
        ("ci_lower".into(), tau.iter().zip(&se).map(|(t, s)| t - Z_975 * s).collect()),
        ("ci_upper".into(), tau.iter().zip(&se).map(|(t, s)| t + Z_975 * s).collect()),
        ("y_hat".into(), fit.y_hat.clone()),
        ("w_hat".into(), fit.w_hat.clone()),
        ("dr_score".into(), scores.scores.clone()),
    ]);
    let summary = ForestSummary {
        file: input.to_string(),
        rows: n,
        outcome: spec.outcome.clone(),
        treatment: spec.treatment.clone(),
        covariates: covariates.clone(),
        propensity: spec.propensity.describe("regression forest"),
        propensity_min: scores.propensity_min,
        propensity_max: scores.propensity_max,
        propensity_clipped: scores.propensity_clipped,
        options: spec.options.clone(),
        trees: fit.forest.trees().len(),
        average_treatment_effect: ate,
        calibration,
        rate,
        variable_importance: covariates
            .iter()
            .zip(importance)
            .map(|(c, v)| Importance { covariate: c.clone(), importance: v })
            .collect(),
        cate_mean: moments.y_mean(),
        cate_sd: moments.y_sd(),
        share_ci_above_zero: above,
        share_ci_below_zero: below,
        cate_profile: Some(profile),
        best_linear_projection: blp,
        warnings,
        timings,
        outputs: Vec::new(),
    };
    let forest = CausalForestModel::new(fit.forest, data.binning().clone(), spec.options.clone());
    let model = ForestModel { outcome: spec.outcome.clone(), treatment: spec.treatment.clone(), forest };
    let mut run = ForestRun { summary, units, model };
    run.summary.timings.total = start.elapsed().as_secs_f64();
    Ok(run)
}
