//! The shipped Grafana dashboards, their panels and their queries.

use std::path::PathBuf;

use serde_json::Value;

use super::repo_root;

pub struct Dashboard {
    pub file: PathBuf,
    pub json: Value,
}

impl Dashboard {
    pub fn name(&self) -> String {
        self.file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Every panel, including those nested in collapsed rows.
    pub fn panels(&self) -> Vec<&Value> {
        let mut panels = Vec::new();
        for panel in array(&self.json["panels"]) {
            panels.push(panel);
            panels.extend(array(&panel["panels"]));
        }
        panels
    }

    pub fn variables(&self) -> &[Value] {
        array(&self.json["templating"]["list"])
    }

    /// Every query of every panel.
    pub fn queries(&self) -> Vec<PanelQuery> {
        let mut queries = Vec::new();
        for panel in self.panels() {
            for target in array(&panel["targets"]) {
                queries.push(PanelQuery {
                    dashboard: self.name(),
                    panel: panel["title"].as_str().unwrap_or("(untitled)").to_owned(),
                    ref_id: target["refId"].as_str().unwrap_or("?").to_owned(),
                    expr: target["expr"].as_str().unwrap_or_default().to_owned(),
                });
            }
        }
        queries
    }
}

/// One target of one panel.
#[derive(Debug, Clone)]
pub struct PanelQuery {
    pub dashboard: String,
    pub panel: String,
    pub ref_id: String,
    pub expr: String,
}

impl std::fmt::Display for PanelQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} / {:?} / {}: {}",
            self.dashboard, self.panel, self.ref_id, self.expr
        )
    }
}

pub fn array(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or(&[])
}

pub fn dashboards_dir() -> PathBuf {
    repo_root().join("grafana").join("dashboards")
}

/// Every `*.json` under grafana/dashboards, sorted by file name.
pub fn load_all() -> Vec<Dashboard> {
    let dir = dashboards_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
            Dashboard { file, json }
        })
        .collect()
}

/// What Grafana's built-in time variables stand for when a query is run by hand.
#[derive(Debug, Clone, Copy)]
pub struct TimeVariables {
    pub rate_interval: &'static str,
    pub interval: &'static str,
    pub range: &'static str,
}

/// `expr` as Grafana would send it: built-in and dashboard variables replaced. A variable with
/// "All" selected becomes its `allValue` (every shipped variable has one); otherwise its current
/// value.
pub fn substitute(expr: &str, dashboard: &Dashboard, time: TimeVariables) -> String {
    let range_seconds = duration_seconds(time.range).to_string();
    let interval_ms = (duration_seconds(time.interval) * 1000).to_string();
    let mut replacements: Vec<(String, String)> = vec![
        ("__rate_interval".to_owned(), time.rate_interval.to_owned()),
        ("__interval_ms".to_owned(), interval_ms),
        ("__interval".to_owned(), time.interval.to_owned()),
        ("__range_s".to_owned(), range_seconds),
        ("__range".to_owned(), time.range.to_owned()),
    ];
    for variable in dashboard.variables() {
        let Some(name) = variable["name"].as_str() else {
            continue;
        };
        replacements.push((name.to_owned(), variable_value(variable)));
    }
    // Longest names first, so `$__range_s` is not read as `$__range` followed by `_s`.
    replacements.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    let mut out = expr.to_owned();
    for (name, value) in &replacements {
        out = out
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("[[{name}]]"), value)
            .replace(&format!("${name}"), value);
    }
    out
}

fn variable_value(variable: &Value) -> String {
    let current = &variable["current"]["value"];
    let selected_all = current.as_str() == Some("$__all")
        || array(current).iter().any(|v| v.as_str() == Some("$__all"));
    if selected_all {
        return variable["allValue"].as_str().unwrap_or(".*").to_owned();
    }
    match current {
        Value::String(value) => value.clone(),
        Value::Array(values) => {
            let values: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            values.join("|")
        }
        _ => ".*".to_owned(),
    }
}

/// Seconds in a Prometheus duration made of one unit (`30s`, `5m`, `1h`).
fn duration_seconds(duration: &str) -> u64 {
    let split = duration
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(duration.len());
    let (number, unit) = duration.split_at(split);
    let number: u64 = number.parse().unwrap_or(0);
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => panic!("unsupported duration unit {other:?} in {duration:?}"),
    };
    number * factor
}
