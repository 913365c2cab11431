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

    /// Parses the same settings as a JSON object (what the Python package sends): the keys of
    /// [`ScanConfig`] at the top level and those of [`DeepDiveConfig`] under `deep_dive`.
    pub fn from_json_str(text: &str, origin: &str) -> Result<Self> {
        let bad =
            |at: &str, e: serde_json::Error| Error::Config { origin: format!("{origin}{at}"), message: e.to_string() };
        let mut object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| bad("", e))?;
        let deep_dive = match object.remove("deep_dive") {
            Some(value) => serde_json::from_value(value).map_err(|e| bad(" deep_dive", e))?,
            None => DeepDiveConfig::default(),
        };
        let scan: ScanConfig = serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| bad("", e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON and TOML of the same settings give the same config; an unknown key is an error
    /// naming it, in the scan's keys and in the deep dive's.
    #[test]
    fn json_settings_equal_toml_settings() {
        let toml = "metrics = [\"revenue\"]\nalpha = 0.1\ncorrection = \"by\"\n[deep_dive]\npairs = 3\ntrees = 50\n";
        let json =
            r#"{"metrics": ["revenue"], "alpha": 0.1, "correction": "by", "deep_dive": {"pairs": 3, "trees": 50}}"#;
        let from_toml = Config::from_toml_str(toml, "toml").unwrap();
        let from_json = Config::from_json_str(json, "json").unwrap();
        assert_eq!(from_json, from_toml);
        assert_ne!(from_json, Config::default());
        let unknown = Config::from_json_str(r#"{"alpah": 0.1}"#, "python").unwrap_err().to_string();
        assert!(unknown.contains("alpah") && unknown.starts_with("python"), "{unknown}");
        let unknown = Config::from_json_str(r#"{"deep_dive": {"tres": 5}}"#, "python").unwrap_err().to_string();
        assert!(unknown.contains("tres") && unknown.contains("deep_dive"), "{unknown}");
        let invalid = Config::from_json_str(r#"{"alpha": 2}"#, "python").unwrap_err().to_string();
        assert!(invalid.contains("alpha"), "{invalid}");
    }
}
