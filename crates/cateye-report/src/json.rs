//! Reading the results as JSON. The report renders what the library wrote (`scan.json`,
//! `forest.json`, `cate.json`, or the same documents serialized in process), so a field absent
//! from an older file, or a NaN written as null, shows as a dash instead of failing the report.

use serde_json::Value;

/// Navigation of a JSON value by dotted paths (`"cuped.ate.estimate"`); a missing step gives
/// `Null`.
pub(crate) trait Get {
    /// The value at `path`.
    fn at(&self, path: &str) -> &Value;

    /// The number at `path`, if it is one.
    fn num(&self, path: &str) -> Option<f64> {
        self.at(path).as_f64()
    }

    /// The string at `path`, or "" when absent.
    fn text(&self, path: &str) -> &str {
        self.at(path).as_str().unwrap_or("")
    }

    /// The array at `path`, or an empty slice.
    fn list(&self, path: &str) -> &[Value] {
        self.at(path).as_array().map_or(&[], Vec::as_slice)
    }
}

static NULL: Value = Value::Null;

impl Get for Value {
    fn at(&self, path: &str) -> &Value {
        path.split('.').filter(|s| !s.is_empty()).fold(self, |v, key| match v {
            Value::Object(map) => map.get(key).unwrap_or(&NULL),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)).unwrap_or(&NULL),
            _ => &NULL,
        })
    }
}

/// A list of strings (or numbers) joined for display.
pub(crate) fn joined(values: &[Value], separator: &str) -> String {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            Value::Null => "—".to_string(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_walk_objects_and_arrays_and_miss_softly() {
        let v = json!({ "a": { "b": [1.5, { "c": "x" }] } });
        assert_eq!(v.num("a.b.0"), Some(1.5));
        assert_eq!(v.text("a.b.1.c"), "x");
        assert!(v.at("a.z.q").is_null());
        assert!(v.list("a.b.1").is_empty());
        assert_eq!(joined(v.list("a.b"), ", "), "1.5, {\"c\":\"x\"}");
    }
}
