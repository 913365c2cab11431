//! The options of every subcommand as a Markdown reference, generated from the clap
//! definitions: README's "Command-line options" section is this text (a test keeps them equal),
//! so the help and the README cannot disagree.

use crate::args::Cli;
use clap::{ArgAction, CommandFactory};

/// One option of a subcommand as the reference shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionDoc {
    /// `--flag`, or `FILE` for a positional argument.
    pub name: String,
    /// What it does (the help text without its default).
    pub help: String,
    /// The default: clap's, the `[default: X]` the help states, or `off` for a switch.
    pub default: Option<String>,
}

/// The subcommands a user runs, in README order.
pub const SUBCOMMANDS: [&str; 14] = [
    "demo",
    "scan",
    "stats-sql",
    "forest",
    "cate",
    "predict",
    "report",
    "network-demo",
    "design",
    "network-effect",
    "simulate-design",
    "privatize",
    "dp-effect",
    "bench",
];

/// Splits `help` into its text and the `[default: X]` it ends with, if any.
pub fn split_default(help: &str) -> (String, Option<String>) {
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    match help.rfind(" [default: ").filter(|_| help.ends_with(']')) {
        Some(at) => {
            let default = help[at + " [default: ".len()..help.len() - 1].to_string();
            (help[..at].trim_end().to_string(), Some(default))
        }
        None => (help, None),
    }
}

/// The options of subcommand `name` (global ones included, hidden ones not), in definition order.
pub fn options(name: &str) -> Vec<OptionDoc> {
    let cli = Cli::command();
    let command = cli.find_subcommand(name).unwrap_or_else(|| panic!("subcommand {name}"));
    let globals = cli.get_arguments().filter(|a| a.is_global_set());
    command
        .get_arguments()
        .chain(globals)
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version") && !a.is_hide_set())
        .map(|a| {
            let help = a.get_long_help().or(a.get_help()).map(|h| h.to_string()).unwrap_or_default();
            let (help, stated) = split_default(&help);
            let clap_default: Vec<String> =
                a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
            let default = if !clap_default.is_empty() {
                Some(clap_default.join(","))
            } else if matches!(a.get_action(), ArgAction::SetTrue) {
                Some("off".to_string())
            } else {
                stated
            };
            let name = match a.get_long() {
                Some(long) => format!("--{long}"),
                None => a
                    .get_value_names()
                    .and_then(|v| v.first())
                    .map_or_else(|| a.get_id().as_str().to_uppercase(), |v| v.to_string()),
            };
            OptionDoc { name, help, default }
        })
        .collect()
}

/// The Markdown reference of every subcommand's options.
pub fn markdown() -> String {
    let mut text = String::new();
    for name in SUBCOMMANDS {
        text.push_str(&format!("\n`cateye {name}`\n\n| option | what it does | default |\n|---|---|---|\n"));
        for o in options(name) {
            let cell = |s: &str| s.replace('|', "\\|");
            // A value in code font; a description ("every other numeric column") as text.
            let default = match o.default.as_deref() {
                None => "(required)".to_string(),
                Some(d) if d.contains(' ') => cell(d),
                Some(d) => format!("`{}`", cell(d)),
            };
            text.push_str(&format!("| `{}` | {} | {} |\n", o.name, cell(&o.help), default));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stated_default_is_split_from_the_help() {
        assert_eq!(
            split_default("Quantile bins\n of a float dimension [default: 5]"),
            ("Quantile bins of a float dimension".to_string(), Some("5".to_string()))
        );
        assert_eq!(split_default("Outcome column."), ("Outcome column.".to_string(), None));
    }

    #[test]
    fn every_option_says_what_it_does_and_its_default() {
        let cli = Cli::command();
        for name in SUBCOMMANDS {
            let command = cli.find_subcommand(name).unwrap();
            for o in options(name) {
                assert!(!o.help.is_empty(), "cateye {name} {}: no help text", o.name);
                let positional = !o.name.starts_with("--");
                // Options the user must give (clap refuses the command without them).
                let required = command
                    .get_arguments()
                    .any(|a| a.is_required_set() && a.get_long().is_some_and(|l| o.name == format!("--{l}")));
                assert!(
                    o.default.is_some() || positional || required,
                    "cateye {name} {}: no default stated (end the help with [default: X])",
                    o.name
                );
            }
        }
    }
}
