//! A small Prometheus registry: counters, gauges and histograms rendered in the text
//! exposition format at `/metrics`. Process-wide, because a scrape describes the process.
//! Hand-written rather than a metrics crate: a few dozen lines, no global recorder to install.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, OnceLock};

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Registry {
    help: BTreeMap<&'static str, (&'static str, &'static str)>,
    counters: BTreeMap<(&'static str, String), f64>,
    gauges: BTreeMap<(&'static str, String), f64>,
    histograms: BTreeMap<(&'static str, String), Histogram>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let value = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(out, "{key}=\"{value}\"");
    }
    out
}

/// Registers the `# HELP` / `# TYPE` lines of a metric. Idempotent.
pub fn describe(name: &'static str, kind: &'static str, help: &'static str) {
    let mut registry = registry().lock().expect("metrics lock");
    registry.help.insert(name, (kind, help));
}

pub fn counter_add(name: &'static str, label_pairs: &[(&str, &str)], by: f64) {
    let mut registry = registry().lock().expect("metrics lock");
    *registry
        .counters
        .entry((name, labels(label_pairs)))
        .or_default() += by;
}

pub fn gauge_set(name: &'static str, label_pairs: &[(&str, &str)], value: f64) {
    let mut registry = registry().lock().expect("metrics lock");
    registry.gauges.insert((name, labels(label_pairs)), value);
}

pub fn observe(name: &'static str, label_pairs: &[(&str, &str)], value: f64) {
    let mut registry = registry().lock().expect("metrics lock");
    let histogram = registry
        .histograms
        .entry((name, labels(label_pairs)))
        .or_default();
    for (i, bound) in BUCKETS.iter().enumerate() {
        if value <= *bound {
            histogram.counts[i] += 1;
        }
    }
    histogram.sum += value;
    histogram.count += 1;
}

/// The whole registry in Prometheus text format 0.0.4.
pub fn render() -> String {
    let registry = registry().lock().expect("metrics lock");
    let mut out = String::new();
    let described = |out: &mut String, name: &str, last: &mut Option<String>| {
        if last.as_deref() != Some(name) {
            if let Some((kind, help)) = registry.help.get(name) {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            }
            *last = Some(name.to_string());
        }
    };
    let mut last = None;
    for ((name, labels), value) in registry.counters.iter().chain(registry.gauges.iter()) {
        described(&mut out, name, &mut last);
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
    for ((name, labels), histogram) in &registry.histograms {
        described(&mut out, name, &mut last);
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(histogram.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            histogram.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", histogram.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", histogram.count);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        describe("test_things_total", "counter", "Things counted in a test.");
        counter_add("test_things_total", &[("kind", "a\"b")], 2.0);
        observe("test_latency_seconds", &[], 0.02);
        observe("test_latency_seconds", &[], 3.0);
        let text = render();
        assert!(text.contains("# TYPE test_things_total counter"), "{text}");
        assert!(
            text.contains(r#"test_things_total{kind="a\"b"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"test_latency_seconds_bucket{le="0.01"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"test_latency_seconds_bucket{le="0.025"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"test_latency_seconds_bucket{le="+Inf"} 2"#),
            "{text}"
        );
        assert!(text.contains("test_latency_seconds_count{} 2"), "{text}");
    }
}
