//! deploy/kubernetes, checked offline with the real tools from PyPI: `kubernetes-validate
//! --strict` against the API schemas of current Kubernetes versions (an unknown field is an
//! error), checkov with no failed check (each skipped one carries its reason in the manifest and
//! is listed in the README), and what no schema knows: the settings each pod gets are documented
//! and load, probes and scrapes hit the port the service listens on, selectors select the pods.
//!
//! The tools come from `scripts/prerequisites.sh` (the venv of `support::venv`).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;
use shared::config::{Settings, DOCUMENTED_ENV};
use support::kubernetes::{
    find, items, load_documents, manifest_file_names, manifests_dir, of_kind, pod_env, resources,
    string_map, Resource, EXAMPLE_SECRET, KUSTOMIZATION,
};
use support::{repo_root, venv};

/// The oldest Kubernetes the manifests target and the newest the pinned kubernetes-validate
/// ships schemas for.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.31.0", "1.37.0"];

/// The services, each the name of its Deployment, Service and budget and the subcommand it runs.
const SERVICES: [&str; 4] = ["gateway", "ingestor", "evaluator", "notifier"];

fn printed(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn every_manifest_passes_kubernetes_validate_strict_on_current_kubernetes_versions() {
    let tool = venv::tool("kubernetes-validate", "kubernetes-validate");
    let files = manifest_file_names();
    let resource_count = resources().len();
    assert!(resource_count >= 20, "{resource_count} resources");
    for version in KUBERNETES_VERSIONS {
        let output = Command::new(&tool)
            .args(["--strict", "--kubernetes-version", version])
            .args(&files)
            .current_dir(manifests_dir())
            .output()
            .expect("run kubernetes-validate");
        let printed = printed(&output);
        assert!(
            output.status.success(),
            "kubernetes-validate --strict failed against {version}:\n{printed}"
        );
        // A kind it has no schema for is only a warning: it must not pass unchecked.
        let passed = printed
            .lines()
            .filter(|line| line.starts_with("INFO ") && line.contains(" passed for resource "))
            .count();
        assert!(
            !printed.contains("WARN") && passed == resource_count,
            "{passed} of {resource_count} resources validated against {version}:\n{printed}"
        );
    }
}

#[test]
fn the_kustomization_applies_every_manifest_but_the_example_secret() {
    let kustomization = &load_documents(KUSTOMIZATION)[0];
    let listed: BTreeSet<String> = items(&kustomization["resources"])
        .iter()
        .map(|item| item.as_str().expect("resource file name").to_owned())
        .collect();
    let expected: BTreeSet<String> = manifest_file_names()
        .into_iter()
        .filter(|name| name != EXAMPLE_SECRET)
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(kustomization["namespace"].as_str(), Some("pricealert"));
    // Every service runs the one image, under the tag the kustomization pins.
    let image = &items(&kustomization["images"])[0];
    let tag = image["newTag"].as_str().expect("newTag");
    assert!(!tag.is_empty() && tag != "latest", "image tag {tag:?}");
    let pinned = format!("{}:{tag}", image["name"].as_str().expect("image name"));
    let resources = resources();
    for deployment in of_kind(&resources, "Deployment") {
        assert_eq!(
            deployment.container()["image"].as_str(),
            Some(pinned.as_str()),
            "{}",
            deployment.name()
        );
    }
    // The Secret's placeholders must be impossible to miss.
    let secret = std::fs::read_to_string(manifests_dir().join(EXAMPLE_SECRET)).expect("read");
    assert!(secret.contains("EXAMPLE ONLY") && secret.contains("CHANGE-ME"));
}

/// The README's "Kubernetes" section, up to the next section.
fn readme_kubernetes_section() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let start = readme
        .find("\n## Kubernetes")
        .expect("README has a \"## Kubernetes\" section");
    let rest = &readme[start + 1..];
    let end = rest[1..].find("\n## ").map_or(rest.len(), |end| end + 1);
    rest[..end].to_owned()
}

/// Check ids (`CKV_K8S_43`, `CKV2_K8S_6`) mentioned in a text.
fn check_ids(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("CKV") && word.contains('_'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn checkov_fails_no_check_and_the_readme_gives_each_skipped_check_its_reason() {
    let tool = venv::tool("checkov", "checkov");
    let output = Command::new(&tool)
        .args(["-d", "deploy/kubernetes", "--framework", "kubernetes"])
        .args(["--compact", "--output", "json"])
        // Offline: no policy metadata from the platform, no check for a newer checkov.
        .arg("--skip-download")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .env_remove("BC_API_KEY")
        .current_dir(repo_root())
        .output()
        .expect("run checkov");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = stdout.find('{').map_or("", |start| &stdout[start..]);
    let report: Value = serde_json::from_str(json).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON report ({e}):\n{}",
            printed(&output)
        )
    });
    let results = &report["results"];
    let failed: Vec<String> = results["failed_checks"]
        .as_array()
        .expect("failed_checks")
        .iter()
        .map(|check| {
            format!(
                "{} {} on {} ({})",
                check["check_id"], check["check_name"], check["resource"], check["file_path"]
            )
        })
        .collect();
    assert!(
        failed.is_empty() && output.status.success(),
        "checkov failed checks (fix them, or skip one with a reason in a checkov.io/skipN \
         annotation and list it in the README):\n{}",
        failed.join("\n")
    );
    let parsing_errors = results["parsing_errors"].as_array().map_or(0, Vec::len);
    assert_eq!(parsing_errors, 0, "{}", results["parsing_errors"]);
    let passed = report["summary"]["passed"].as_u64().unwrap_or(0);
    assert!(
        passed >= 300,
        "only {passed} checks passed: {}",
        report["summary"]
    );

    let mut skipped = BTreeSet::new();
    for check in results["skipped_checks"]
        .as_array()
        .expect("skipped_checks")
    {
        let id = check["check_id"].as_str().expect("check_id").to_owned();
        let reason = check["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reason.len() >= 20,
            "{id} is skipped on {} without a reason: {reason:?}",
            check["resource"]
        );
        skipped.insert(id);
    }
    let listed = check_ids(&readme_kubernetes_section());
    assert_eq!(
        listed, skipped,
        "the README's Kubernetes section must list exactly the skipped checks"
    );
}

#[test]
fn each_pod_gets_only_documented_settings_and_they_load_with_the_port_the_manifests_use() {
    let resources = resources();
    let documented: BTreeSet<&str> = DOCUMENTED_ENV.iter().map(|name| name.name()).collect();
    for service in SERVICES {
        let deployment = find(&resources, "Deployment", service);
        let env = pod_env(&resources, deployment);
        let undocumented: Vec<&String> = env
            .ours
            .keys()
            .filter(|name| !documented.contains(name.as_str()))
            .collect();
        assert!(
            undocumented.is_empty(),
            "{service}: not documented settings: {undocumented:?}"
        );
        let env: std::collections::HashMap<String, String> = env.all.into_iter().collect();
        let settings = Settings::load(None, &env)
            .unwrap_or_else(|e| panic!("{service}: the settings its pod gets do not load: {e}"));
        assert!(
            settings.bus.kafka.bootstrap_servers.is_some(),
            "{service}: Kafka"
        );
        assert!(settings.database.url.is_some(), "{service}: PostgreSQL");
        let port = match service {
            "gateway" => settings.gateway.port,
            "ingestor" => settings.ingestor.port,
            "evaluator" => settings.evaluator.port,
            _ => settings.notifier.port,
        };
        let container_port = deployment.container()["ports"][0]["containerPort"].as_i64();
        assert_eq!(
            container_port,
            Some(i64::from(port)),
            "{service} listens on {port}"
        );
    }
}

fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty()
        && selector
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
}

/// Probes and the scrape annotation name the container's port; the Service, the budget and the
/// Deployment's own selector select its pods.
fn assert_wired(resources: &[Resource], service: &str) {
    let deployment = find(resources, "Deployment", service);
    let template = &deployment.doc["spec"]["template"];
    let labels = string_map(&template["metadata"]["labels"]);
    let container = deployment.container();
    let args: Vec<&str> = items(&container["args"])
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(args, [service], "{service} runs its own subcommand");
    let port = &container["ports"][0];
    let (port_name, port_number) = (port["name"].as_str(), port["containerPort"].as_i64());
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some("/health"), "{service} {probe}");
        assert_eq!(get["port"].as_str(), port_name, "{service} {probe} port");
    }
    let annotations = string_map(&template["metadata"]["annotations"]);
    assert_eq!(
        annotations.get("prometheus.io/scrape").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        annotations.get("prometheus.io/path").map(String::as_str),
        Some("/metrics")
    );
    assert_eq!(
        annotations.get("prometheus.io/port").map(String::as_str),
        port_number.map(|n| n.to_string()).as_deref(),
        "{service} is scraped at its port"
    );
    let own = string_map(&deployment.doc["spec"]["selector"]["matchLabels"]);
    assert!(selects(&own, &labels), "{service}: Deployment selector");
    let svc = find(resources, "Service", service);
    assert!(
        selects(&string_map(&svc.doc["spec"]["selector"]), &labels),
        "{service}: Service"
    );
    assert_eq!(
        svc.doc["spec"]["ports"][0]["targetPort"].as_str(),
        port_name
    );
    let budget = find(resources, "PodDisruptionBudget", service);
    let budget_selector = string_map(&budget.doc["spec"]["selector"]["matchLabels"]);
    assert!(
        selects(&budget_selector, &labels),
        "{service}: PodDisruptionBudget"
    );
}

#[test]
fn each_service_is_probed_on_health_scraped_at_its_port_and_selected_by_its_service_and_budget() {
    let resources = resources();
    for service in SERVICES {
        assert_wired(&resources, service);
    }
}

#[test]
fn evaluators_and_notifiers_autoscale_but_never_beyond_the_partition_count() {
    let resources = resources();
    let configmap = find(&resources, "ConfigMap", "pricealert-settings");
    let partitions: i64 = string_map(&configmap.doc["data"])["KAFKA_PARTITIONS"]
        .parse()
        .expect("KAFKA_PARTITIONS is a number");
    let mut scaled = BTreeSet::new();
    for autoscaler in of_kind(&resources, "HorizontalPodAutoscaler") {
        let spec = &autoscaler.doc["spec"];
        let target = spec["scaleTargetRef"]["name"].as_str().expect("target");
        assert_eq!(spec["scaleTargetRef"]["kind"].as_str(), Some("Deployment"));
        let deployment = find(&resources, "Deployment", target);
        // A fixed count in the Deployment would fight the autoscaler on every apply.
        assert!(
            deployment.doc["spec"]["replicas"].is_badvalue(),
            "{target} sets replicas"
        );
        let (min, max) = (spec["minReplicas"].as_i64(), spec["maxReplicas"].as_i64());
        assert!(
            min >= Some(2) && max <= Some(partitions) && min <= max,
            "{target}: {min:?}..{max:?}"
        );
        scaled.insert(target.to_owned());
    }
    assert_eq!(
        scaled,
        BTreeSet::from(["evaluator".to_owned(), "notifier".to_owned()])
    );
}

#[test]
fn each_pod_gets_every_setting_the_compose_services_get() {
    let compose = std::fs::read_to_string(repo_root().join("docker-compose.yml")).expect("read");
    let compose = &yaml_rust2::YamlLoader::load_from_str(&compose).expect("YAML")[0];
    let compose_names: BTreeSet<String> =
        string_names(&compose["x-pricealert-service"]["environment"]);
    assert!(compose_names.len() >= 20, "{compose_names:?}");
    let resources = resources();
    for service in SERVICES {
        let env = pod_env(&resources, find(&resources, "Deployment", service));
        let missing: Vec<&String> = compose_names
            .iter()
            .filter(|name| !env.ours.contains_key(*name))
            .collect();
        assert!(missing.is_empty(), "{service} lacks {missing:?}");
    }
}

fn string_names(mapping: &yaml_rust2::Yaml) -> BTreeSet<String> {
    mapping
        .as_hash()
        .expect("a mapping")
        .keys()
        .filter_map(|key| key.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn each_pod_runs_as_the_user_the_image_creates() {
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).expect("read");
    let uid: i64 = dockerfile
        .split("--uid ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|uid| uid.parse().ok())
        .expect("the Dockerfile creates its user with --uid N");
    let resources = resources();
    for service in SERVICES {
        let deployment = find(&resources, "Deployment", service);
        let pod = &deployment.doc["spec"]["template"]["spec"]["securityContext"];
        let container = &deployment.container()["securityContext"];
        for context in [pod, container] {
            assert_eq!(context["runAsUser"].as_i64(), Some(uid), "{service}");
            assert_eq!(context["runAsNonRoot"].as_bool(), Some(true), "{service}");
        }
    }
}
