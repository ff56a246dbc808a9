//! Reading the Prometheus YAML files the way the tests need them.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

pub fn load(path: &Path) -> Yaml {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{} is empty", path.display()))
}

/// `*.yml` files of a directory, sorted.
pub fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    files.sort();
    files
}

pub fn items(value: &Yaml) -> &[Yaml] {
    value.as_vec().map(Vec::as_slice).unwrap_or(&[])
}

pub fn text(value: &Yaml) -> Option<&str> {
    value.as_str()
}

/// One rule of a rule file.
#[derive(Debug, Clone)]
pub struct Rule {
    pub file: PathBuf,
    /// The group's name: rules of one group are evaluated in order, groups in no fixed order.
    pub group: String,
    /// `Some` for an alerting rule.
    pub alert: Option<String>,
    /// `Some` for a recording rule.
    pub record: Option<String>,
    pub expr: String,
    pub severity: Option<String>,
}

/// Every rule of every file in prometheus/rules, each group's in its evaluation order.
pub fn rules(rules_dir: &Path) -> Vec<Rule> {
    let mut rules = Vec::new();
    for file in yml_files(rules_dir) {
        let doc = load(&file);
        for group in items(&doc["groups"]) {
            let group_name = text(&group["name"]).unwrap_or_default().to_owned();
            for rule in items(&group["rules"]) {
                rules.push(Rule {
                    file: file.clone(),
                    group: group_name.clone(),
                    alert: text(&rule["alert"]).map(str::to_owned),
                    record: text(&rule["record"]).map(str::to_owned),
                    expr: text(&rule["expr"]).unwrap_or_default().to_owned(),
                    severity: text(&rule["labels"]["severity"]).map(str::to_owned),
                });
            }
        }
    }
    rules
}

/// One `alert_rule_test` case of a promtool unit-test file.
#[derive(Debug, Clone)]
pub struct AlertCase {
    pub file: PathBuf,
    pub test_name: String,
    pub alertname: String,
    pub expects_firing: bool,
}

pub fn alert_cases(tests_dir: &Path) -> Vec<AlertCase> {
    let mut cases = Vec::new();
    for file in yml_files(tests_dir) {
        let doc = load(&file);
        for test in items(&doc["tests"]) {
            let test_name = text(&test["name"]).unwrap_or("(unnamed)").to_owned();
            for case in items(&test["alert_rule_test"]) {
                cases.push(AlertCase {
                    file: file.clone(),
                    test_name: test_name.clone(),
                    alertname: text(&case["alertname"]).unwrap_or_default().to_owned(),
                    expects_firing: !items(&case["exp_alerts"]).is_empty(),
                });
            }
        }
    }
    cases
}
