//! Field selectors: the `fieldSelector` parameter, on the fields each resource supports.

use serde_json::Value;

use super::labels::SYMBOLS;

/// A parsed field selector; its terms are ANDed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// (field, value, negated)
    terms: Vec<(String, String, bool)>,
}

fn field_supported(resource: &str, field: &str) -> bool {
    let involved = field.strip_prefix("involvedObject.");
    match resource {
        _ if matches!(field, "metadata.name" | "metadata.namespace") => true,
        "pods" => matches!(
            field,
            "spec.nodeName" | "spec.restartPolicy" | "status.phase"
        ),
        "events" => {
            matches!(field, "reason" | "type")
                || matches!(involved, Some("kind" | "name" | "namespace" | "uid"))
        }
        _ => false,
    }
}

impl FieldSelector {
    /// `metadata.name=x,metadata.namespace!=y` (`=`, `==`, `!=`), with `fields.ParseSelector`'s
    /// backslash escapes (`\,`, `\=`, `\\`). A field the resource lacks is an error.
    pub fn parse(s: &str, resource: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for part in split_terms(s) {
            let cant = || format!("invalid selector: '{s}'; can't understand '{part}'");
            // As `fields.splitTerm`: the leftmost position where `!=`, `==` or `=` begins.
            let (field, negated, raw) = (0..part.len())
                .filter(|&i| part.is_char_boundary(i))
                .find_map(|i| {
                    let rest = &part[i..];
                    let op = SYMBOLS[..3].iter().find(|&&op| rest.starts_with(op))?;
                    Some((&part[..i], *op == "!=", &rest[op.len()..]))
                })
                .ok_or_else(cant)?;
            if !field_supported(resource, field) {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_string(), unescape(raw)?, negated));
        }
        Ok(FieldSelector { terms })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|(field, value, negated)| {
            // Kubernetes' field sets hold zero values, so a missing field reads as "".
            let actual = match field.split('.').fold(obj, |v, seg| &v[seg]) {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (&actual == value) != *negated
        })
    }
}

/// Splits on commas that are not backslash-escaped, dropping empty terms.
fn split_terms(s: &str) -> Vec<&str> {
    let (mut parts, mut start, mut escaped) = (Vec::new(), 0, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.retain(|p| !p.is_empty());
    parts
}

fn unescape(raw: &str) -> Result<String, String> {
    let bad = |what: String| Err(format!("invalid field selector: {what}"));
    let (mut out, mut chars) = (String::new(), raw.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(e) => return bad(format!("invalid escape sequence: \\{e}")),
                None => return bad("invalid escape sequence: \\".into()),
            },
            ',' | '=' => return bad(format!("unescaped character in value: {c}")),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_operators_and_combinations() {
        let f = |s: &str| FieldSelector::parse(s, "pods").unwrap();
        let web = json!({"metadata": {"name": "web-1", "namespace": "prod"},
                         "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let yes = "metadata.name=web-1;metadata.name==web-1;metadata.namespace!=default;\
                   metadata.name=web-1,metadata.namespace=prod,status.phase=Running;\
                   spec.nodeName=n1,spec.restartPolicy=;;metadata.name=web-1,,";
        let no = "metadata.name!=web-1;metadata.name=web-1,metadata.namespace=default";
        for (cases, want) in [(yes, true), (no, false)] {
            for s in cases.split(';') {
                assert_eq!(f(s).matches(&web), want, "{s}");
            }
        }
        // A missing field compares as "".
        let bare = json!({"metadata": {"name": "p"}});
        assert!(f("status.phase=").matches(&bare) && f("status.phase!=Running").matches(&bare));
        let odd = json!({"metadata": {"name": "a,b=c\\d"}});
        assert!(f(r"metadata.name=a\,b\=c\\d").matches(&odd));
    }

    #[test]
    fn field_errors() {
        // input | resource | error
        let cases = r#"status.phase=Running | jobs | field label not supported: status.phase
            spec.replicas=1 | deployments | field label not supported: spec.replicas
            reason=X | pods | field label not supported: reason
            a,metadata.name | pods | invalid selector: 'a,metadata.name'; can't understand 'a'
            metadata.name=a=b | pods | invalid field selector: unescaped character in value: =
            metadata.name=a\x | pods | invalid field selector: invalid escape sequence: \x
            metadata.name=a\ | pods | invalid field selector: invalid escape sequence: \"#;
        for line in cases.lines() {
            let [input, resource, want] = line.trim().splitn(3, " | ").collect::<Vec<_>>()[..]
            else {
                panic!("{line}")
            };
            assert_eq!(FieldSelector::parse(input, resource).unwrap_err(), want);
        }
        let spaced = FieldSelector::parse("metadata.name = x", "pods").unwrap_err();
        assert_eq!(spaced, "field label not supported: metadata.name ");
        assert!(FieldSelector::parse("metadata.namespace=x", "leases").is_ok());
    }

    #[test]
    fn events_by_involved_object() {
        let event = json!({
            "metadata": {"name": "web.1", "namespace": "default"},
            "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "default",
                               "uid": "u1"},
            "reason": "ScalingReplicaSet", "type": "Normal"
        });
        let f = |s: &str| FieldSelector::parse(s, "events").unwrap().matches(&event);
        assert!(f("involvedObject.kind=Deployment,involvedObject.name=web,\
                   involvedObject.namespace=default,involvedObject.uid=u1"));
        assert!(f("type=Normal,reason=ScalingReplicaSet") && !f("type!=Normal"));
        assert!(!f("involvedObject.uid=u2") && !f("involvedObject.name=web,reason=BackOff"));
    }
}
