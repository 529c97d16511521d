//! prometheus-client writes OpenMetrics only; Prometheus' older text format (0.0.4) is what a
//! plain scrape without an OpenMetrics Accept header gets, so both parser paths are exercised.

/// OpenMetrics text → 0.0.4 text: counters' TYPE and HELP name the `_total` series, UNIT
/// lines and the `# EOF` marker go, `_created` series go.
pub fn to_text_004(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# TYPE ", "# HELP "]
            .iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (*p, rest)));
        if let Some((prefix, rest)) = meta {
            let name = rest.split(' ').next().unwrap_or_default();
            if counters.contains(&name) && !name.ends_with("_total") {
                out.push_str(&format!("{prefix}{name}_total{}\n", &rest[name.len()..]));
                continue;
            }
        } else if counters
            .iter()
            .any(|c| line.starts_with(&format!("{c}_created")))
        {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_renamed_and_openmetrics_markers_dropped() {
        let om = "# HELP http_requests HTTP requests.\n# TYPE http_requests counter\nhttp_requests_total{path=\"/\"} 3\nhttp_requests_created{path=\"/\"} 1.7e9\n# TYPE q gauge\n# UNIT q seconds\nq 1.5\n# EOF\n";
        assert_eq!(
            to_text_004(om),
            "# HELP http_requests_total HTTP requests.\n# TYPE http_requests_total counter\nhttp_requests_total{path=\"/\"} 3\n# TYPE q gauge\nq 1.5\n"
        );
    }
}
