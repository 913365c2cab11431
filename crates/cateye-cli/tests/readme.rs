//! README.md as a new user reads it: its option reference is the help's, the defaults its prose
//! states are the help's, and its `cargo run --release -- …` commands run as printed, in order,
//! in an empty folder (the demo first, then the scan, forest, predict and cate examples on the
//! demo's files).

use cateye_cli::reference::{markdown, options, SUBCOMMANDS};
use std::path::PathBuf;
use std::process::Command;

const BEGIN: &str = "<!-- options:begin -->\n";
const END: &str = "<!-- options:end -->";

fn readme_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md")
}

fn readme() -> String {
    std::fs::read_to_string(readme_path()).expect("README.md at the workspace root")
}

/// README's option reference is generated from the clap definitions. With
/// `CATEYE_UPDATE_README=1` (outside CI) the test rewrites it instead of failing.
#[test]
fn the_option_reference_is_the_help() {
    let text = readme();
    let start = text.find(BEGIN).expect("README has the options:begin marker") + BEGIN.len();
    let end = text.find(END).expect("README has the options:end marker");
    let generated = markdown();
    if text[start..end] != generated {
        if std::env::var_os("CATEYE_UPDATE_README").is_some() && std::env::var_os("CI").is_none() {
            let updated = format!("{}{generated}{}", &text[..start], &text[end..]);
            std::fs::write(readme_path(), updated).unwrap();
            return;
        }
        panic!(
            "README's command-line options differ from the help; run \
             `CATEYE_UPDATE_README=1 cargo test -p cateye-cli --test readme` and commit README.md.\n\
             Expected:\n{generated}"
        );
    }
}

/// Every "`--flag` (default X)" in README's prose states the help's default.
#[test]
fn defaults_in_the_prose_are_the_help_defaults() {
    let text = readme();
    let start = text.find(BEGIN).unwrap();
    let prose = &text[..start];
    let mut checked = 0;
    for (at, _) in prose.match_indices("`--") {
        let rest = &prose[at + 1..];
        let Some(close) = rest.find('`') else { continue };
        let flag = rest[..close].split_whitespace().next().unwrap_or_default();
        let Some(stated) = rest[close + 1..].strip_prefix(" (default ") else { continue };
        let value = stated.split([')', ';']).next().unwrap_or_default().trim().trim_matches('`');
        let documented: Vec<String> =
            SUBCOMMANDS.iter().flat_map(|c| options(c)).filter(|o| o.name == flag).filter_map(|o| o.default).collect();
        assert!(!documented.is_empty(), "README mentions {flag} with a default, but no subcommand has it");
        assert!(
            documented.iter().any(|d| d == value),
            "README says {flag} defaults to {value}; the help says {documented:?}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} stated defaults found: has the README's wording changed?");
}

/// The commands of the code blocks of README's quick start that start with
/// `cargo run --release -- `.
fn readme_commands() -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut in_code = false;
    let text = readme();
    let start = text.find("## Quick start").expect("README has a quick start");
    let end = start + text[start..].find("\n## ").expect("a section after the quick start");
    for line in text[start..end].lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if let Some(args) = line.trim().strip_prefix("cargo run --release -- ").filter(|_| in_code) {
            let args = args.split('#').next().unwrap_or_default();
            commands.push(args.split_whitespace().map(str::to_string).collect());
        }
    }
    commands
}

#[test]
fn readme_commands_run_as_printed() {
    let commands = readme_commands();
    let names: Vec<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(
        names,
        ["demo", "scan", "forest", "predict", "cate", "network-demo", "privatize", "dp-effect"],
        "README's quick-start commands"
    );
    let dir = cateye_testkit::temp_dir("readme");
    for args in &commands {
        let o = Command::new(env!("CARGO_BIN_EXE_cateye")).args(args).current_dir(&dir).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "README's `cateye {}` failed: {err}", args.join(" "));
    }
    for file in ["cateye-demo/results/scan.json", "results/scan.json", "forest/forest.json", "forest.model"] {
        assert!(dir.join(file).exists(), "{file} written by README's commands");
    }
    for file in [
        "predictions/predictions.parquet",
        "cate/cate.parquet",
        "cate.model",
        "cateye-network-demo/design/design.json",
        "released/mechanism.json",
        "dp-effect/effect.json",
    ] {
        assert!(dir.join(file).exists(), "{file} written by README's commands");
    }
}
