//! Just enough of Kubernetes' protobuf encoding to read a SelfSubjectAccessReview's spec:
//! kubectl 1.32 and later send their typed requests (`auth can-i`) as protobuf and take a
//! JSON answer. Field numbers are those of `k8s.io/api/authorization/v1/generated.proto`.

use serde_json::{Map, Value};

/// Every protobuf body starts with this, then a `runtime.Unknown` wrapping the object.
const MAGIC: &[u8] = b"k8s\0";

/// The spec of a protobuf SelfSubjectAccessReview, in its JSON form; `None` if `body` is
/// not protobuf or not well formed.
pub fn access_review_spec(body: &[u8]) -> Option<Value> {
    let unknown = body.strip_prefix(MAGIC)?;
    // runtime.Unknown: 2 = raw, the object's own bytes.
    let review = field(unknown, 2)?;
    // SelfSubjectAccessReview: 2 = spec.
    let spec = field(review, 2).unwrap_or_default();
    let mut out = Map::new();
    // SelfSubjectAccessReviewSpec: 1 = resourceAttributes, 2 = nonResourceAttributes.
    if let Some(attrs) = field(spec, 1) {
        let names = [
            (1, "namespace"),
            (2, "verb"),
            (3, "group"),
            (4, "version"),
            (5, "resource"),
            (6, "subresource"),
            (7, "name"),
        ];
        out.insert("resourceAttributes".into(), strings(attrs, &names)?);
    }
    if let Some(attrs) = field(spec, 2) {
        let names = [(1, "path"), (2, "verb")];
        out.insert("nonResourceAttributes".into(), strings(attrs, &names)?);
    }
    Some(Value::Object(out))
}

/// The named string fields of a message, leaving out the empty ones as JSON would.
fn strings(message: &[u8], names: &[(u64, &str)]) -> Option<Value> {
    let mut out = Map::new();
    for (number, name) in names {
        if let Some(bytes) = field(message, *number) {
            let text = std::str::from_utf8(bytes).ok()?;
            if !text.is_empty() {
                out.insert((*name).into(), Value::String(text.into()));
            }
        }
    }
    Some(Value::Object(out))
}

/// The last length-delimited field `number` of `message` (protobuf's last-one-wins), or
/// `None` if there is none or the message is malformed.
fn field(message: &[u8], number: u64) -> Option<&[u8]> {
    let mut rest = message;
    let mut found = None;
    while !rest.is_empty() {
        let key = varint(&mut rest)?;
        match key & 7 {
            0 => {
                varint(&mut rest)?;
            }
            1 => rest = rest.get(8..)?,
            2 => {
                let len = usize::try_from(varint(&mut rest)?).ok()?;
                let (value, after) = (rest.get(..len)?, rest.get(len..)?);
                if key >> 3 == number {
                    found = Some(value);
                }
                rest = after;
            }
            5 => rest = rest.get(4..)?,
            _ => return None,
        }
    }
    found
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_kubectl_1_32_sends() {
        // `kubectl auth can-i patch deployments/web -n production`, as kubectl 1.32 sent it.
        let body = b"k8s\x00\n2\n\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\x12O\n\x10\n\x00\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00\x121\n/\n\nproduction\x12\x05patch\x1a\x04apps\"\x00*\x0bdeployments2\x00:\x03web\x1a\x08\x08\x00\x12\x00\x1a\x00 \x00\x1a\x00\"\x00";
        assert_eq!(
            access_review_spec(body),
            Some(json!({"resourceAttributes": {
                "namespace": "production", "verb": "patch", "group": "apps",
                "resource": "deployments", "name": "web",
            }}))
        );
        // `kubectl auth can-i get /api`.
        let body = b"k8s\x00\n2\n\x17authorization.k8s.io/v1\x12\x17SelfSubjectAccessReview\x12+\n\x10\n\x00\x12\x00\x1a\x00\"\x00*\x002\x008\x00B\x00\x12\r\x12\x0b\n\x04/api\x12\x03get\x1a\x08\x08\x00\x12\x00\x1a\x00 \x00\x1a\x00\"\x00";
        assert_eq!(
            access_review_spec(body),
            Some(json!({"nonResourceAttributes": {"path": "/api", "verb": "get"}}))
        );
    }

    #[test]
    fn json_and_garbage_are_not_protobuf() {
        assert_eq!(access_review_spec(br#"{"spec":{}}"#), None);
        assert_eq!(access_review_spec(b"k8s\x00\x12\xff"), None);
        assert_eq!(access_review_spec(b"k8s\x00\x12\x05ab"), None);
    }
}
