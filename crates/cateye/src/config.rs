//! The settings of a scan and its deep dive, from a TOML file and/or the caller.
//!
//! ```toml
//! experiment = "experiment"     # column roles and statistical settings: see ScanConfig
//! metrics = ["revenue", "sessions"]
//! dimensions = ["country", "platform"]
//! correction = "bh"
//! [split]                       # planned allocation, default equal
//! control = 0.5
//! treatment = 0.5
//! [deep_dive]                   # tier 2: see DeepDiveConfig
//! pairs = 20                    # flagged pairs analysed: a number, "all" or "none"
//! requested = ["exp42:revenue"] # analysed whether flagged or not
//! ```
//!
//! Every key of [`ScanConfig`] sits at the top level and every key of [`DeepDiveConfig`] under
//! `[deep_dive]`; an unknown key is an error naming it.

use crate::error::{Error, Result};
use cateye_deepdive::DeepDiveConfig;
use cateye_scan::ScanConfig;
use std::path::Path;

/// Everything a scan and its deep dive need besides the data.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Column roles and the tier-1 statistics.
    pub scan: ScanConfig,
    /// The deep dive of flagged pairs.
    pub deep_dive: DeepDiveConfig,
}

impl Config {
    /// A config of the given parts.
    pub fn new(scan: ScanConfig, deep_dive: DeepDiveConfig) -> Self {
        Config { scan, deep_dive }
    }

    /// Reads a TOML config file; keys it does not set keep their defaults.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let origin = format!("config {}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| cateye_io::IoError::read(&origin, e))?;
        Self::from_toml_str(&text, &origin)
    }

    /// Parses a TOML config; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let bad = |source: toml::de::Error| Error::ConfigFile { origin: origin.to_string(), source };
        let mut table: toml::Table = toml::from_str(text).map_err(bad)?;
        let deep_dive = match table.remove("deep_dive") {
            Some(value) => value
                .try_into()
                .map_err(|source| Error::ConfigFile { origin: format!("{origin} [deep_dive]"), source })?,
            None => DeepDiveConfig::default(),
        };
        let scan: ScanConfig = toml::Value::Table(table).try_into().map_err(bad)?;
        let config = Config { scan, deep_dive };
        config.validate(origin)?;
        Ok(config)
    }

    /// Checks the numeric settings; `origin` names where they came from in errors.
    pub fn validate(&self, origin: &str) -> Result<()> {
        self.scan.validate(origin)?;
        Ok(self.deep_dive.validate()?)
    }
}
