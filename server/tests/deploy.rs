//! The Kubernetes manifests in deploy/k8s are valid Kubernetes objects: checked against the
//! API's schemas by `kubernetes-validate` (PyPI; it carries the schemas, no cluster needed),
//! strictly (unknown fields refused). `scripts/ensure-tools.sh gateway` installs it into
//! scripts/.venv; without it this test FAILS, it is never skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

fn validator() -> PathBuf {
    let path = Path::new("../scripts/.venv/bin/kubernetes-validate");
    assert!(
        path.exists(),
        "kubernetes-validate is not installed: run scripts/ensure-tools.sh gateway \
         (./baedal test does so by itself)"
    );
    path.to_path_buf()
}

fn validate(files: &[PathBuf]) -> (bool, String) {
    let output = Command::new(validator())
        .arg("--strict")
        .args(files)
        .output()
        .expect("run kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("../deploy/k8s")
        .expect("deploy/k8s")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_kubernetes_manifests_are_valid_and_complete() {
    let files = manifests();
    let (ok, report) = validate(&files);
    assert!(ok, "{report}");
    // Every object the deployment needs is there (and was validated above).
    for needed in [
        "deployment/baedal-web",
        "deployment/baedal-worker",
        "service/baedal-web",
        "ingress/baedal",
        "ingress/baedal-live",
        "horizontalpodautoscaler/baedal-web",
        "poddisruptionbudget/baedal-web",
        "configmap/baedal-config",
        "secret/baedal-secrets",
    ] {
        assert!(
            report.contains(&format!("passed for resource {needed} ")),
            "{needed} missing or not validated:\n{report}"
        );
    }
}

/// The validator is not a rubber stamp: a misspelt field and a wrong type are refused.
#[test]
fn the_validator_refuses_a_broken_manifest() {
    let web = std::fs::read_to_string("../deploy/k8s/web.yaml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, broken) in [
        (
            "misspelt.yaml",
            web.replacen("readinessProbe:", "readynessProbe:", 1),
        ),
        (
            "wrong-type.yaml",
            web.replacen("replicas: 3", "replicas: three", 1),
        ),
    ] {
        assert_ne!(broken, web, "{name}: the manifest changed");
        let path = dir.path().join(name);
        std::fs::write(&path, broken).unwrap();
        let (ok, report) = validate(&[path]);
        assert!(!ok, "{name} was accepted:\n{report}");
    }
}
