//! Random command lines: flags of every subcommand with ordinary and hostile values. Parsing,
//! the translation into the library's settings and, for `scan`, the scan itself on a small
//! table (for `stats-sql`, the SQL) end in a result or a clear error, never a panic.

use cateye::{Config, Source};
use cateye_cli::args::{Cli, Command};
use cateye_cli::reference::{options, SUBCOMMANDS};
use clap::Parser;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const VALUES: [&str; 34] = [
    "0",
    "1",
    "-1",
    "2",
    "0.5",
    "1e308",
    "NaN",
    "inf",
    "18446744073709551615",
    "99999999999999999999999",
    "all",
    "none",
    "",
    "x",
    "y,w",
    "control=0.5,treatment=0.5",
    "a=b",
    "exp0:m0",
    "m0",
    "d0,d1",
    "bh",
    "/nonexistent/file.toml",
    "complete",
    "stratified",
    "reldg",
    "cascade",
    "uniform",
    "cluster-free",
    "nearest",
    "pooled",
    "full",
    "0.75",
    "a,b",
    "csv",
];

/// The arguments `command` needs before any option.
fn base(command: &str) -> Vec<String> {
    let tail: &[&str] = match command {
        "scan" => &["data.parquet"],
        "stats-sql" => &["events", "--metrics", "m0"],
        "forest" | "cate" => &["data.parquet", "--outcome", "y", "--treatment", "w"],
        "predict" => &["model.bin", "data.parquet"],
        "report" => &["scan.json"],
        "design" => &["--edges", "edges.parquet"],
        "network-effect" => &["outcomes.parquet", "--edges", "edges.parquet", "--design", "d", "--outcome", "y"],
        "privatize" => {
            &["data.parquet", "--outcome", "y", "--treatment", "w", "--epsilon", "1", "--lo", "0", "--hi", "1"]
        }
        "simulate-design" => &["--edges", "edges.parquet", "--design", "d"],
        "dp-effect" => &["released.parquet", "--mechanism", "m.json", "--outcome", "y", "--treatment", "w"],
        _ => &[],
    };
    ["cateye", command].iter().chain(tail).map(|s| s.to_string()).collect()
}

/// The flags of `command` with the values (or no value) each accepts on its own; the values are
/// [`VALUES`], hostile ones included (`1e308`, `18446744073709551615`, `NaN`, `0` parse for
/// many flags and must then be refused by the settings' validation, not crash).
fn flag_values(command: &str) -> Vec<(String, Vec<Option<&'static str>>)> {
    let parses = |flag: &str, value: Option<&str>| {
        let mut argv = base(command);
        argv.push(flag.to_string());
        argv.extend(value.map(String::from));
        Cli::try_parse_from(argv).is_ok()
    };
    options(command)
        .into_iter()
        .map(|o| o.name)
        .filter(|n| n.starts_with("--"))
        .map(|flag| {
            let values: Vec<Option<&'static str>> =
                std::iter::once(None).chain(VALUES.iter().copied().map(Some)).filter(|v| parses(&flag, *v)).collect();
            (flag, values)
        })
        // A flag the base line already gives once (a required one) cannot be given again.
        .filter(|(_, values)| !values.is_empty())
        .filter(|(_, values)| !values.is_empty())
        .collect()
}

/// A subcommand and a command line for it: mostly its own flags with values they accept on
/// their own, now and then any value or a flag of another subcommand.
fn command_line() -> impl Strategy<Value = Vec<String>> {
    prop::sample::select(SUBCOMMANDS.to_vec()).prop_flat_map(|command| {
        let flags = flag_values(command);
        assert!(!flags.is_empty(), "cateye {command}: no flag parses after {:?}", base(command));
        let any_flag: Vec<String> = SUBCOMMANDS.iter().flat_map(|c| options(c)).map(|o| o.name).collect();
        let own = prop::sample::select(flags).prop_flat_map(|(flag, values)| {
            (Just(flag), prop::sample::select(values).prop_map(|v| v.map(String::from)))
        });
        let stray = (
            prop::sample::select(any_flag),
            prop::option::of(prop::sample::select(VALUES.to_vec()).prop_map(String::from)),
        );
        let pair = prop_oneof![12 => own, 1 => stray];
        prop::collection::vec(pair, 0..6).prop_map(move |pairs| {
            let mut argv = base(command);
            for (flag, value) in pairs {
                argv.push(flag);
                argv.extend(value);
            }
            argv
        })
    })
}

/// A small unit-level table in memory: 2 experiments, 1 metric, 2 dimensions.
fn source() -> Source {
    let spec = cateye::demo::synthetic_spec(2, 300, 1, 2, 3, 5);
    Source::from_batches(spec.batches()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_command_lines_never_panic(argv in command_line()) {
        let Ok(cli) = Cli::try_parse_from(&argv) else { return Ok(()) };
        match cli.command {
            Command::Scan(args) => {
                let Ok(mut config): Result<Config, _> = args.config() else { return Ok(()) };
                config.deep_dive.pairs = cateye::scan::Selection::None;
                config.deep_dive.requested.clear();
                let _ = cateye::scan::scan(&source(), &config, &|_| {});
            }
            Command::StatsSql(args) => {
                if let Ok(query) = args.query() {
                    let sql = query.sql(args.dialect);
                    prop_assert!(sql.is_ok(), "a query built from flags writes its SQL: {:?}", sql.err());
                }
            }
            Command::Forest(args) => drop(args.spec()),
            Command::Cate(args) => drop(args.spec()),
            Command::Design(args) => drop(args.spec()),
            Command::NetworkEffect(args) => drop(args.spec()),
            Command::SimulateDesign(args) => drop(args.spec()),
            Command::Privatize(args) => drop(args.spec()),
            Command::DpEffect(args) => drop(args.spec()),
            _ => {}
        }
    }
}

#[test]
fn many_random_command_lines_parse() {
    // The strategy is useful only if a fair share of its lines reach the settings.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let parsed = (0..400)
        .filter(|_| {
            let argv = command_line().new_tree(&mut runner).unwrap().current();
            Cli::try_parse_from(&argv).is_ok()
        })
        .count();
    assert!(parsed >= 200, "only {parsed} of 400 random command lines parsed");
}
