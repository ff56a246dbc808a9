//! The shipped Grafana dashboards and provisioning load as Grafana expects them, and every query
//! uses only metrics the services document.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::dashboards::{array, load_all, substitute, Dashboard, TimeVariables};
use support::metrics::is_documented_series;
use support::{promql, repo_root, yaml};

const DATASOURCE_UID: &str = "prometheus";

fn assert_prometheus_datasource(value: &Value, what: &str) {
    assert_eq!(
        value["uid"].as_str(),
        Some(DATASOURCE_UID),
        "{what} must use the datasource uid {DATASOURCE_UID:?}, has {value}"
    );
    assert_eq!(
        value["type"].as_str(),
        Some("prometheus"),
        "{what}: {value}"
    );
}

#[test]
fn the_four_dashboards_are_shipped_with_unique_uids() {
    let dashboards = load_all();
    let names: BTreeSet<String> = dashboards.iter().map(Dashboard::name).collect();
    let expected: BTreeSet<String> = [
        "api.json",
        "notifications.json",
        "overview.json",
        "pipeline-latency.json",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(names, expected);
    let uids: BTreeSet<&str> = dashboards
        .iter()
        .map(|d| d.json["uid"].as_str().expect("dashboard uid"))
        .collect();
    assert_eq!(uids.len(), dashboards.len(), "dashboard uids collide");
}

#[test]
fn every_dashboard_has_the_fields_grafana_needs() {
    for dashboard in load_all() {
        let name = dashboard.name();
        let json = &dashboard.json;
        assert!(
            json["schemaVersion"].as_u64().is_some_and(|v| v >= 30),
            "{name}: schemaVersion"
        );
        assert!(
            json["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}: title"
        );
        assert!(
            json["uid"]
                .as_str()
                .is_some_and(|u| !u.is_empty() && u.len() <= 40),
            "{name}: uid"
        );
        assert!(json["time"]["from"].is_string(), "{name}: time range");
        assert!(!array(&json["panels"]).is_empty(), "{name}: no panels");
        // A provisioned dashboard must not carry an instance-specific id.
        assert!(json["id"].is_null(), "{name}: id must be null or absent");
    }
}

#[test]
fn panel_ids_are_unique_and_panels_fit_the_grid() {
    for dashboard in load_all() {
        let name = dashboard.name();
        let mut ids = BTreeSet::new();
        for panel in dashboard.panels() {
            let id = panel["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("{name}: panel without id"));
            assert!(ids.insert(id), "{name}: panel id {id} is used twice");
            let grid = &panel["gridPos"];
            let (x, w, h) = (grid["x"].as_u64(), grid["w"].as_u64(), grid["h"].as_u64());
            let (Some(x), Some(w), Some(h)) = (x, w, h) else {
                panic!("{name}: panel {id} has no gridPos");
            };
            assert!(
                w >= 1 && x + w <= 24 && h >= 1,
                "{name}: panel {id} overflows the grid"
            );
            assert!(
                panel["title"].as_str().is_some_and(|t| !t.is_empty()),
                "{name}: panel {id} title"
            );
        }
    }
}

#[test]
fn every_panel_target_and_variable_uses_the_prometheus_datasource_uid() {
    for dashboard in load_all() {
        let name = dashboard.name();
        for panel in dashboard.panels() {
            if panel["type"] == "row" {
                continue;
            }
            let title = panel["title"].as_str().unwrap_or_default();
            assert_prometheus_datasource(&panel["datasource"], &format!("{name} / {title}"));
            let targets = array(&panel["targets"]);
            assert!(!targets.is_empty(), "{name} / {title} has no query");
            let mut ref_ids = BTreeSet::new();
            for target in targets {
                assert_prometheus_datasource(
                    &target["datasource"],
                    &format!("{name} / {title} target"),
                );
                let ref_id = target["refId"].as_str().expect("refId");
                assert!(
                    ref_ids.insert(ref_id),
                    "{name} / {title}: refId {ref_id} twice"
                );
                assert!(
                    target["expr"]
                        .as_str()
                        .is_some_and(|e| !e.trim().is_empty()),
                    "{name} / {title}: empty expr"
                );
            }
        }
        for variable in dashboard.variables() {
            if variable["type"] == "query" {
                assert_prometheus_datasource(
                    &variable["datasource"],
                    &format!("{name} variable {}", variable["name"]),
                );
            }
        }
    }
}

#[test]
fn every_query_and_variable_uses_only_documented_metric_names() {
    for dashboard in load_all() {
        for query in dashboard.queries() {
            let names = promql::metric_names(&query.expr);
            assert!(!names.is_empty(), "selects no metric: {query}");
            for name in names {
                assert!(
                    is_documented_series(&name),
                    "undocumented metric {name} in {query}"
                );
            }
        }
        for variable in dashboard.variables() {
            let definition = variable["definition"].as_str().unwrap_or_default();
            // `label_values(metric, label)`: only the first argument selects series.
            let selector = definition
                .strip_prefix("label_values(")
                .and_then(|args| args.split(',').next())
                .unwrap_or_else(|| {
                    panic!(
                        "{}: unexpected variable query {definition}",
                        dashboard.name()
                    )
                });
            for name in promql::metric_names(selector) {
                assert!(
                    is_documented_series(&name),
                    "{}: variable uses undocumented metric {name}",
                    dashboard.name()
                );
            }
        }
    }
}

#[test]
fn rates_use_rate_interval_and_totals_use_the_dashboard_range() {
    for dashboard in load_all() {
        for query in dashboard.queries() {
            for window in promql::range_windows(&query.expr) {
                assert!(
                    window == "$__rate_interval" || window == "$__range",
                    "hard-coded window [{window}] in {query}"
                );
            }
        }
    }
}

#[test]
fn the_overview_shows_what_the_issue_asks_for() {
    let dashboards = load_all();
    let overview = dashboards
        .iter()
        .find(|d| d.name() == "overview.json")
        .expect("overview dashboard");
    let exprs: Vec<String> = overview.queries().into_iter().map(|q| q.expr).collect();
    let has = |needle: &str| exprs.iter().any(|e| e.contains(needle));
    assert!(has("kafka_consumer_lag"), "consumer lag");
    assert!(has("evaluator_active_alerts"), "active alerts");
    assert!(has("gateway_active_websockets"), "WebSocket connections");
    assert!(
        has("sum by (source, symbol) (rate(ingestor_prices_fetched_total"),
        "fetch rate by source and symbol"
    );
    assert!(
        has("sum by (condition) (rate(evaluator_alerts_triggered_total"),
        "alerts triggered by condition"
    );
    assert!(
        has("sum by (type, status) (rate(notifier_notifications_sent_total"),
        "notifications by type and status"
    );
    assert!(has("histogram_quantile(0.95, sum by (source, le) (rate(ingestor_fetch_latency_seconds_bucket"), "fetch latency p95");
}

#[test]
fn grafana_variables_are_substituted_the_way_grafana_sends_queries() {
    let dashboards = load_all();
    let overview = dashboards
        .iter()
        .find(|d| d.name() == "overview.json")
        .expect("overview dashboard");
    let time = TimeVariables {
        rate_interval: "1m",
        interval: "15s",
        range: "5m",
    };
    let expr = r#"sum(rate(x{source=~"$source"}[$__rate_interval])) + sum(increase(y[$__range])) + $__range_s + ${source} + $__interval_ms"#;
    assert_eq!(
        substitute(expr, overview, time),
        r#"sum(rate(x{source=~".*"}[1m])) + sum(increase(y[5m])) + 300 + .* + 15000"#
    );
    for dashboard in &dashboards {
        for query in dashboard.queries() {
            let sent = substitute(&query.expr, dashboard, time);
            assert!(!sent.contains('$'), "unsubstituted variable left in {sent}");
        }
    }
}

#[test]
fn the_metric_name_scanner_ignores_functions_labels_keywords_and_durations() {
    let names = promql::metric_names(
        r#"histogram_quantile(0.95, sum by (source, le) (rate(a_bucket{source=~"x|y", le!="+Inf"}[5m] offset 1w)))
           / on (job) group_left (name) max without (instance) (b) and c > bool 1e3 or vector(0)"#,
    );
    let expected: BTreeSet<String> = ["a_bucket", "b", "c"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(names, expected);
    assert_eq!(
        promql::range_windows("rate(a[5m]) + rate(b[$__rate_interval])"),
        ["5m", "$__rate_interval"]
    );
}

#[test]
fn the_provisioned_datasource_has_uid_prometheus_and_the_provider_loads_files() {
    let provisioning = repo_root().join("grafana").join("provisioning");
    let datasources = yaml::load(&provisioning.join("datasources").join("prometheus.yml"));
    let sources = yaml::items(&datasources["datasources"]);
    assert_eq!(sources.len(), 1);
    assert_eq!(yaml::text(&sources[0]["uid"]), Some(DATASOURCE_UID));
    assert_eq!(yaml::text(&sources[0]["type"]), Some("prometheus"));
    assert!(yaml::text(&sources[0]["url"]).is_some_and(|u| u.starts_with("http")));
    let providers = yaml::load(&provisioning.join("dashboards").join("pricealert.yml"));
    let provider = &yaml::items(&providers["providers"])[0];
    assert_eq!(yaml::text(&provider["type"]), Some("file"));
    assert!(yaml::text(&provider["options"]["path"]).is_some_and(|p| p.starts_with('/')));
}
