//! The HTML page: one file holding the document as JSON, the charting libraries, the style and
//! the script that lays the document out. Nothing is fetched: the page opens from disk, offline.

use crate::doc::Document;
use serde::Serialize;

const STYLE: &str = include_str!("../assets/report.css");
const SCRIPT: &str = include_str!("../assets/report.js");
const VEGA: &str = include_str!("../assets/vendor/vega.min.js");
const VEGA_LITE: &str = include_str!("../assets/vendor/vega-lite.min.js");
const VEGA_EMBED: &str = include_str!("../assets/vendor/vega-embed.min.js");

/// A library inlined in the page, with its license (shown in the page's footer).
#[derive(Serialize)]
struct Library {
    name: &'static str,
    version: &'static str,
    license: &'static str,
}

/// The vendored libraries, at the versions `scripts/vendor-vega` pinned.
fn libraries() -> Vec<Library> {
    let versions = include_str!("../assets/vendor/VERSIONS");
    let version = |name: &str| {
        versions
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .unwrap_or("unknown")
            .trim()
    };
    let v = [version("vega"), version("vega-lite"), version("vega-embed")];
    vec![
        Library { name: "vega", version: v[0], license: include_str!("../assets/vendor/LICENSE-vega") },
        Library { name: "vega-lite", version: v[1], license: include_str!("../assets/vendor/LICENSE-vega-lite") },
        Library { name: "vega-embed", version: v[2], license: include_str!("../assets/vendor/LICENSE-vega-embed") },
    ]
}

/// Escapes text for an HTML element or attribute.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that is safe inside a `<script>` element: `<`, `>` and `&` (which could close the
/// element or open a comment) and the line separators U+2028/2029 become `\u` escapes, which
/// JSON allows only inside strings, where they mean the same characters.
pub(crate) fn script_json(value: &impl Serialize) -> String {
    let json = serde_json::to_string(value).expect("the report document serializes");
    let mut out = String::with_capacity(json.len() + json.len() / 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The page of `document`.
pub(crate) fn html(document: &Document) -> String {
    #[derive(Serialize)]
    struct Payload<'a> {
        #[serde(flatten)]
        document: &'a Document,
        generator: String,
        libraries: Vec<Library>,
    }
    let payload =
        Payload { document, generator: format!("cateye {}", env!("CARGO_PKG_VERSION")), libraries: libraries() };
    let data = script_json(&payload);
    let mut page = String::with_capacity(data.len() + VEGA.len() + VEGA_LITE.len() + VEGA_EMBED.len() + 64 * 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.push_str(&format!("<meta name=\"generator\" content=\"cateye {}\">\n", env!("CARGO_PKG_VERSION")));
    page.push_str(&format!("<title>{}</title>\n", escape_html(&document.title)));
    page.push_str(&format!("<style>\n{STYLE}</style>\n</head>\n<body>\n"));
    page.push_str(
        "<noscript><p>This report lays out its tables and draws its charts with JavaScript: allow scripts for \
         this file to read it.</p></noscript>\n<main id=\"report\"></main>\n",
    );
    page.push_str(&format!("<script type=\"application/json\" id=\"cateye-data\">{data}</script>\n"));
    for (name, code) in [("vega", VEGA), ("vega-lite", VEGA_LITE), ("vega-embed", VEGA_EMBED), ("cateye", SCRIPT)] {
        debug_assert!(!code.contains("</script"), "{name} would close its script element");
        page.push_str(&format!("<script data-library=\"{name}\">\n{code}\n</script>\n"));
    }
    page.push_str("</body>\n</html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_its_script_element() {
        let hostile = "</script><script>alert(1)</script> & <!-- \u{2028}";
        let json = script_json(&serde_json::json!({ "name": hostile }));
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["name"], hostile);
        assert_eq!(escape_html("<a href='x'>\"&\""), "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;");
    }

    #[test]
    fn the_libraries_are_pinned_and_licensed() {
        for lib in libraries() {
            assert_ne!(lib.version, "unknown", "{}", lib.name);
            assert!(lib.license.contains("Copyright"), "{}", lib.name);
        }
        for code in [VEGA, VEGA_LITE, VEGA_EMBED, SCRIPT] {
            assert!(!code.contains("</script") && !code.contains("sourceMappingURL"));
        }
    }
}
