//! The file format of fitted models: a versioned container around any serializable model.
//!
//! Layout: the 8 magic bytes `CATEYEMD`; a header (postcard-encoded): the container version,
//! the model's kind (e.g. `causal_forest`), the kind's format version and the cateye version that
//! wrote it; then the model itself, postcard-encoded (floats as their exact 8 bytes, so a
//! model read back predicts bit-identically). A reader refuses other files, other kinds and
//! format versions it does not know, naming what it found.

use crate::error::{IoError, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The first bytes of every model file.
pub const MAGIC: &[u8; 8] = b"CATEYEMD";

/// Version of the container layout.
const CONTAINER_VERSION: u32 = 1;

/// What a model file says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelHeader {
    /// Version of the container layout.
    pub container: u32,
    /// The kind of model, e.g. `causal_forest` or `cate_learner`.
    pub kind: String,
    /// The format version of that kind.
    pub version: u32,
    /// The cateye version that wrote the file.
    pub written_by: String,
}

fn not_a_model(input: &str, reason: impl Into<String>) -> IoError {
    IoError::invalid(input, format!("not a cateye model file: {}", reason.into()))
}

/// The bytes of `model` of `kind` in format `version`.
pub fn encode_model<T: Serialize>(kind: &str, version: u32, model: &T) -> Result<Vec<u8>> {
    let header = ModelHeader {
        container: CONTAINER_VERSION,
        kind: kind.to_string(),
        version,
        written_by: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut out = MAGIC.to_vec();
    out = postcard::to_extend(&header, out).map_err(|e| IoError::write("model", e))?;
    postcard::to_extend(model, out).map_err(|e| IoError::write("model", e))
}

/// The header of model bytes (`input` names them in errors).
pub fn read_header(bytes: &[u8], input: &str) -> Result<(ModelHeader, usize)> {
    let body = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(|| not_a_model(input, "the magic bytes are missing"))?;
    let (header, rest): (ModelHeader, _) =
        postcard::take_from_bytes(body).map_err(|e| not_a_model(input, format!("unreadable header ({e})")))?;
    if header.container != CONTAINER_VERSION {
        return Err(not_a_model(
            input,
            format!("container version {} (this cateye reads {CONTAINER_VERSION})", header.container),
        ));
    }
    Ok((header, bytes.len() - rest.len()))
}

/// Decodes model bytes of `kind` in format `version`.
pub fn decode_model<T: DeserializeOwned>(bytes: &[u8], input: &str, kind: &str, version: u32) -> Result<T> {
    let (header, start) = read_header(bytes, input)?;
    if header.kind != kind {
        return Err(IoError::invalid(input, format!("holds a {} model, expected a {kind} model", header.kind)));
    }
    if header.version != version {
        return Err(IoError::invalid(
            input,
            format!(
                "{kind} model format version {} (written by cateye {}); this cateye reads version {version}",
                header.version, header.written_by
            ),
        ));
    }
    postcard::from_bytes(&bytes[start..]).map_err(|e| not_a_model(input, format!("the {kind} model is damaged ({e})")))
}

/// Writes `model` to `path` (see the module documentation).
pub fn save_model<T: Serialize>(path: &Path, kind: &str, version: u32, model: &T) -> Result<()> {
    let bytes = encode_model(kind, version, model).map_err(|e| match e {
        IoError::Write { cause, .. } => IoError::write(path, cause),
        other => other,
    })?;
    crate::write_atomically(path, |tmp| std::fs::write(tmp, &bytes).map_err(|e| IoError::write(path, e)))
}

/// Reads the bytes of a model file.
pub fn read_model_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| IoError::read(&path.display().to_string(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Toy {
        name: String,
        values: Vec<f64>,
    }

    #[test]
    fn models_round_trip_bit_for_bit_and_foreign_bytes_are_refused() {
        let toy = Toy { name: "t".into(), values: vec![0.1, -0.0, f64::MIN_POSITIVE, 1e308, f64::NAN] };
        let bytes = encode_model("toy", 3, &toy).unwrap();
        let back: Toy = decode_model(&bytes, "toy.model", "toy", 3).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.values), bits(&toy.values));
        let err = |r: Result<Toy>| r.unwrap_err().to_string();
        assert!(err(decode_model(&bytes, "m", "forest", 3)).contains("holds a toy model, expected a forest model"));
        assert!(err(decode_model(&bytes, "m", "toy", 4)).contains("format version 3"));
        assert!(err(decode_model(b"PAR1....", "x.parquet", "toy", 3)).contains("x.parquet: not a cateye model file"));
        assert!(err(decode_model(&bytes[..bytes.len() - 3], "m", "toy", 3)).contains("damaged"));
    }
}
