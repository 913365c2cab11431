//! The TOML config: column roles and statistics at the top level, the deep dive under
//! `[deep_dive]`; unknown keys and values out of range are errors naming them.

use cateye::scan::{Correction, Selection};
use cateye::{Config, Source};
use cateye_testkit::temp_dir;

const GOOD: &str = "experiment,variant,country,revenue,pre_revenue\n\
e1,control,US,1.0,0.5\ne1,treatment,US,2.0,0.7\ne1,control,DE,1.5,0.2\ne1,treatment,DE,2.5,1.1\n\
e1,control,US,0.5,0.1\ne1,treatment,DE,3.0,1.0\n";

#[test]
fn toml_config_sets_roles_and_rejects_unknown_keys() {
    let dir = temp_dir("toml");
    let p = dir.join("good.csv");
    std::fs::write(&p, GOOD).unwrap();
    let cfg_path = dir.join("cateye.toml");
    std::fs::write(&cfg_path, "metrics = [\"revenue\"]\ndimensions = [\"country\"]\nmin_units_per_arm = 1\ncorrection = \"holm\"\n[split]\ncontrol = 0.25\ntreatment = 0.75\n[deep_dive]\npairs = \"none\"\ntrees = 100\n").unwrap();
    let cfg = Config::from_toml_file(&cfg_path).unwrap();
    assert_eq!(cfg.scan.correction, Correction::Holm);
    assert_eq!((cfg.deep_dive.pairs, cfg.deep_dive.trees), (Selection::None, 100));
    let (_, r) = cateye::scan::scan(&Source::open(&p).unwrap(), &cfg, &|_| {}).unwrap();
    assert_eq!(r.result.srm[0].planned, vec![0.25, 0.75]);
    std::fs::write(&cfg_path, "metric = [\"revenue\"]\n").unwrap();
    let err = Config::from_toml_file(&cfg_path).unwrap_err().to_string();
    assert!(err.contains("cateye.toml") && err.contains("metric"), "{err}");
    std::fs::write(&cfg_path, "alpha = 2.0\n").unwrap();
    assert!(Config::from_toml_file(&cfg_path).unwrap_err().to_string().contains("alpha"));
    std::fs::write(&cfg_path, "[deep_dive]\ntree = 5\n").unwrap();
    let err = Config::from_toml_file(&cfg_path).unwrap_err().to_string();
    assert!(err.contains("deep_dive") && err.contains("tree"), "{err}");
    std::fs::write(&cfg_path, "[deep_dive]\ngamma = 0.9\n").unwrap();
    assert!(Config::from_toml_file(&cfg_path).unwrap_err().to_string().contains("deep_dive.gamma"));
}
