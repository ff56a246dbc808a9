//! The manifests of deploy/kubernetes, read the way the tests need them, and the environment a
//! pod of them starts with.

use std::collections::BTreeMap;
use std::path::PathBuf;

use yaml_rust2::{Yaml, YamlLoader};

use super::repo_root;

/// Not a Kubernetes resource: kustomize's list of the others.
pub const KUSTOMIZATION: &str = "kustomization.yaml";
/// A Secret with placeholders, applied by hand (never by `kubectl apply -k`).
pub const EXAMPLE_SECRET: &str = "secret.example.yaml";
/// A made-up cluster IP for the Service links the kubelet would inject.
const CLUSTER_IP: &str = "10.96.0.10";

pub fn manifests_dir() -> PathBuf {
    repo_root().join("deploy").join("kubernetes")
}

/// The names of every `*.yaml` file of deploy/kubernetes, sorted.
pub fn yaml_file_names() -> Vec<String> {
    let dir = manifests_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .collect();
    names.sort();
    names
}

/// The manifest files: every YAML file but the kustomization.
pub fn manifest_file_names() -> Vec<String> {
    yaml_file_names()
        .into_iter()
        .filter(|name| name != KUSTOMIZATION)
        .collect()
}

pub fn load_documents(file: &str) -> Vec<Yaml> {
    let path = manifests_dir().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// One resource (one YAML document) of a manifest file.
#[derive(Debug, Clone)]
pub struct Resource {
    pub file: String,
    pub doc: Yaml,
}

impl Resource {
    pub fn kind(&self) -> &str {
        self.doc["kind"].as_str().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.doc["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// The first container of a Deployment's pod template.
    pub fn container(&self) -> &Yaml {
        &self.doc["spec"]["template"]["spec"]["containers"][0]
    }
}

/// Every resource of every manifest file, in file order.
pub fn resources() -> Vec<Resource> {
    manifest_file_names()
        .into_iter()
        .flat_map(|file| {
            load_documents(&file)
                .into_iter()
                .filter(|doc| !doc.is_null())
                .map(move |doc| Resource {
                    file: file.clone(),
                    doc,
                })
        })
        .collect()
}

pub fn find<'a>(resources: &'a [Resource], kind: &str, name: &str) -> &'a Resource {
    resources
        .iter()
        .find(|resource| resource.kind() == kind && resource.name() == name)
        .unwrap_or_else(|| panic!("no {kind} named {name} in deploy/kubernetes"))
}

pub fn of_kind<'a>(resources: &'a [Resource], kind: &str) -> Vec<&'a Resource> {
    resources
        .iter()
        .filter(|resource| resource.kind() == kind)
        .collect()
}

/// A mapping of strings (labels, a ConfigMap's `data`); anything else in it fails the test.
pub fn string_map(value: &Yaml) -> BTreeMap<String, String> {
    let Some(hash) = value.as_hash() else {
        return BTreeMap::new();
    };
    hash.iter()
        .map(|(key, value)| {
            let key = key.as_str().expect("mapping keys are strings").to_owned();
            let value = value
                .as_str()
                .unwrap_or_else(|| panic!("{key}: {value:?} is not a string"))
                .to_owned();
            (key, value)
        })
        .collect()
}

pub fn items(value: &Yaml) -> &[Yaml] {
    value.as_vec().map(Vec::as_slice).unwrap_or(&[])
}

/// What a pod's environment is made of.
pub struct PodEnv {
    /// What the manifests set (ConfigMap, Secret, `env`), by variable name.
    pub ours: BTreeMap<String, String>,
    /// `ours` plus what the kubelet adds: everything the process sees.
    pub all: BTreeMap<String, String>,
}

/// The environment a Deployment's container starts with, as the kubelet builds it: `envFrom` in
/// order (the Secret from [`EXAMPLE_SECRET`]), then `env`, then the Service links of every
/// Service with a cluster IP unless the pod turns them off, for names not already set.
pub fn pod_env(resources: &[Resource], deployment: &Resource) -> PodEnv {
    let container = deployment.container();
    let mut ours = BTreeMap::new();
    for source in items(&container["envFrom"]) {
        if let Some(name) = source["configMapRef"]["name"].as_str() {
            ours.extend(string_map(&find(resources, "ConfigMap", name).doc["data"]));
        }
        if let Some(name) = source["secretRef"]["name"].as_str() {
            ours.extend(string_map(
                &find(resources, "Secret", name).doc["stringData"],
            ));
        }
    }
    for variable in items(&container["env"]) {
        let name = variable["name"].as_str().expect("env name").to_owned();
        let value = variable["value"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: only plain string values are used"))
            .to_owned();
        ours.insert(name, value);
    }
    let mut all = BTreeMap::new();
    let links_enabled = deployment.doc["spec"]["template"]["spec"]["enableServiceLinks"]
        .as_bool()
        .unwrap_or(true);
    if links_enabled {
        for service in of_kind(resources, "Service") {
            all.extend(service_links(service));
        }
    }
    all.extend(ours.clone());
    PodEnv { ours, all }
}

/// The variables the kubelet injects for one Service (`<NAME>_SERVICE_HOST`, `<NAME>_PORT`, …);
/// none for an ExternalName Service, which has no cluster IP.
fn service_links(service: &Resource) -> BTreeMap<String, String> {
    let mut links = BTreeMap::new();
    if service.doc["spec"]["type"].as_str() == Some("ExternalName") {
        return links;
    }
    let prefix = service.name().to_ascii_uppercase().replace('-', "_");
    let ports = items(&service.doc["spec"]["ports"]);
    let Some(first) = ports.first().and_then(|port| port["port"].as_i64()) else {
        return links;
    };
    links.insert(format!("{prefix}_SERVICE_HOST"), CLUSTER_IP.to_owned());
    links.insert(format!("{prefix}_SERVICE_PORT"), first.to_string());
    links.insert(
        format!("{prefix}_PORT"),
        format!("tcp://{CLUSTER_IP}:{first}"),
    );
    for port in ports {
        let number = port["port"].as_i64().expect("port number");
        if let Some(name) = port["name"].as_str() {
            let name = name.to_ascii_uppercase().replace('-', "_");
            links.insert(format!("{prefix}_SERVICE_PORT_{name}"), number.to_string());
        }
        let base = format!("{prefix}_PORT_{number}_TCP");
        links.insert(base.clone(), format!("tcp://{CLUSTER_IP}:{number}"));
        links.insert(format!("{base}_PROTO"), "tcp".to_owned());
        links.insert(format!("{base}_PORT"), number.to_string());
        links.insert(format!("{base}_ADDR"), CLUSTER_IP.to_owned());
    }
    links
}
