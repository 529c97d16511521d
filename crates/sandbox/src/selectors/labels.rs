//! Label selectors: the `labelSelector` parameter and a workload's `spec.selector`.
//!
//! The label parser follows apimachinery's `labels.Parse` token for token, so clients get
//! the error texts a real API server sends (`unable to parse requirement: ...`).

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    /// Sorted and deduplicated, like Go's `sets.String`, so the printed form is stable.
    values: Vec<String>,
}

impl Requirement {
    fn new(key: &str, op: Op, values: BTreeSet<String>) -> Result<Self, String> {
        validate_key(key)?;
        if matches!(op, Op::In | Op::NotIn) && values.is_empty() {
            return Err("for 'in', 'notin' operators, values set can't be empty".into());
        }
        if matches!(op, Op::Exists | Op::DoesNotExist) && !values.is_empty() {
            return Err("values set must be empty for exists and does not exist".into());
        }
        values.iter().try_for_each(|v| validate_value(key, v))?;
        let (key, values) = (key.to_string(), values.into_iter().collect());
        Ok(Requirement { key, op, values })
    }

    fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let value = labels
            .and_then(|l| l.get(&self.key))
            .and_then(Value::as_str);
        let listed = value.is_some_and(|v| self.values.iter().any(|x| x == v));
        match self.op {
            Op::Equals | Op::In => listed,
            Op::NotEquals | Op::NotIn => !listed,
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (k, v) = (&self.key, self.values.join(","));
        match self.op {
            Op::Equals => write!(f, "{k}={v}"),
            Op::NotEquals => write!(f, "{k}!={v}"),
            Op::In => write!(f, "{k} in ({v})"),
            Op::NotIn => write!(f, "{k} notin ({v})"),
            Op::Exists => write!(f, "{k}"),
            Op::DoesNotExist => write!(f, "!{k}"),
        }
    }
}

const NAME_RULE: &str = "consist of alphanumeric characters, '-', '_' or '.', \
                         and must start and end with an alphanumeric character";

fn is_name(s: &str) -> bool {
    let edge = |c: char| c.is_ascii_alphanumeric();
    let inner = |c: char| edge(c) || matches!(c, '-' | '_' | '.');
    s.starts_with(edge) && s.ends_with(edge) && s.chars().all(inner)
}

/// apimachinery's `IsQualifiedName`: `[prefix/]name`, the name at most 63 long.
fn validate_key(key: &str) -> Result<(), String> {
    let (prefix, name) = key.split_once('/').unzip();
    let name = name.unwrap_or(key);
    // The prefix should be a lowercase DNS subdomain; a lowercase name is close enough.
    let bad_prefix = |p: &str| !is_name(p) || p.len() > 253 || p.contains(['_', '/']);
    let problem = match prefix {
        Some(p) if bad_prefix(p) || p.to_lowercase() != p => {
            "prefix part must be a lowercase RFC 1123 subdomain".to_string()
        }
        _ if name.len() > 63 => "name part must be no more than 63 characters".to_string(),
        _ if !is_name(name) => format!("name part must {NAME_RULE}"),
        _ => return Ok(()),
    };
    Err(format!("invalid label key {key:?}: {problem}"))
}

fn validate_value(key: &str, value: &str) -> Result<(), String> {
    let problem = if value.len() > 63 {
        "must be no more than 63 characters".to_string()
    } else if !value.is_empty() && !is_name(value) {
        format!("a valid label must be an empty string or {NAME_RULE}")
    } else {
        return Ok(());
    };
    let at = format!("at key: {key:?}");
    Err(format!("invalid label value: {value:?}: {at}: {problem}"))
}

/// Tokens are plain strings: a symbol, a word, or "" past the end. `in` and `notin` stay
/// words, as they are keywords only where an operator is expected (`x in (in)` is legal).
pub(super) const SYMBOLS: [&str; 7] = ["!=", "==", "=", "!", "(", ")", ","];

fn is_word(tok: &str) -> bool {
    !tok.is_empty() && !SYMBOLS.contains(&tok)
}

fn found(tok: &str, expected: &str) -> String {
    format!("found '{tok}', expected: {expected}")
}

fn lex(s: &str) -> Vec<String> {
    let mut toks = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let len = match SYMBOLS.into_iter().find(|&sym| rest.starts_with(sym)) {
            Some(sym) => sym.len(),
            None => rest
                .find(|c: char| "=!(),".contains(c) || c.is_whitespace())
                .unwrap_or(rest.len()),
        };
        toks.push(rest[..len].to_string());
        rest = rest[len..].trim_start();
    }
    toks
}

struct Parser {
    toks: Vec<String>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &str {
        self.toks.get(self.pos).map_or("", String::as_str)
    }

    fn next(&mut self) -> String {
        self.pos += 1;
        self.toks.get(self.pos - 1).cloned().unwrap_or_default()
    }

    fn at_requirement(&self) -> bool {
        self.peek() == "!" || is_word(self.peek())
    }

    fn word(&mut self) -> Result<String, String> {
        let tok = self.next();
        is_word(&tok)
            .then(|| tok.clone())
            .ok_or_else(|| found(&tok, "identifier"))
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let negated = self.peek() == "!";
        self.pos += usize::from(negated);
        let key = self.word()?;
        validate_key(&key)?;
        if negated {
            return Requirement::new(&key, Op::DoesNotExist, BTreeSet::new());
        }
        if matches!(self.peek(), "" | ",") {
            return Requirement::new(&key, Op::Exists, BTreeSet::new());
        }
        let op = match self.next().as_str() {
            "in" => Op::In,
            "notin" => Op::NotIn,
            "=" | "==" => Op::Equals,
            "!=" => Op::NotEquals,
            tok => return Err(found(tok, "in, notin, =, ==, !=")),
        };
        let values = match op {
            Op::In | Op::NotIn => self.value_set()?,
            _ if matches!(self.peek(), "" | ",") => [String::new()].into(),
            _ => [self.word()?].into(),
        };
        Requirement::new(&key, op, values)
    }

    fn value_set(&mut self) -> Result<BTreeSet<String>, String> {
        let open = self.next();
        if open != "(" {
            return Err(format!("found '{open}' expected: '('"));
        }
        // Empty items are legal and mean "": `()`, `(,a)`, `(a,,b)`, `(a,)`.
        let (mut set, mut item) = (BTreeSet::new(), String::new());
        loop {
            let tok = self.next();
            match tok.as_str() {
                "," | ")" => {
                    set.insert(std::mem::take(&mut item));
                    if tok == ")" {
                        return Ok(set);
                    }
                }
                _ if item.is_empty() && is_word(&tok) => item = tok,
                _ if item.is_empty() => return Err(found(&tok, "',', ')' or identifier")),
                _ => return Err(found(&tok, "',' or ')'")),
            }
        }
    }
}

/// A parsed label selector; its requirements are ANDed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelSelector {
    /// `None` selects nothing: what a missing `spec.selector` means (`labels.Nothing()`).
    reqs: Option<Vec<Requirement>>,
}

impl LabelSelector {
    fn of(mut reqs: Vec<Requirement>) -> Self {
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector { reqs: Some(reqs) }
    }

    /// The full grammar: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`;
    /// comma = AND; whitespace tolerated; an empty string matches everything.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (toks, pos) = (lex(s), 0);
        let mut p = Parser { toks, pos };
        let mut reqs = Vec::new();
        while !p.peek().is_empty() {
            if !p.at_requirement() {
                return Err(found(p.peek(), "!, identifier, or 'end of string'"));
            }
            let req = p.requirement();
            reqs.push(req.map_err(|e| format!("unable to parse requirement: {e}"))?);
            match p.next().as_str() {
                "" => break,
                "," if p.at_requirement() => {}
                "," => return Err(found(p.peek(), "identifier after ','")),
                tok => return Err(found(tok, "',' or 'end of string'")),
            }
        }
        Ok(Self::of(reqs))
    }

    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let all = |reqs: &Vec<Requirement>| reqs.iter().all(|r| r.matches(labels));
        self.reqs.as_ref().is_some_and(all)
    }

    /// From a Deployment/ReplicaSet/Job `spec.selector` (`matchLabels`, `matchExpressions`).
    pub fn from_selector_object(sel: &Value) -> Result<Self, String> {
        if sel.is_null() {
            return Ok(LabelSelector { reqs: None });
        }
        let mut reqs = Vec::new();
        for (k, v) in sel["matchLabels"].as_object().into_iter().flatten() {
            let v = v.as_str().ok_or("matchLabels values must be strings")?;
            reqs.push(Requirement::new(k, Op::Equals, [v.to_string()].into())?);
        }
        for expr in sel["matchExpressions"].as_array().into_iter().flatten() {
            let op = match expr["operator"].as_str().unwrap_or("") {
                "In" => Op::In,
                "NotIn" => Op::NotIn,
                "Exists" => Op::Exists,
                "DoesNotExist" => Op::DoesNotExist,
                other => return Err(format!("{other:?} is not a valid label selector operator")),
            };
            let values = expr["values"].as_array().into_iter().flatten();
            let values: Option<_> = values.map(|v| v.as_str().map(str::to_string)).collect();
            let values = values.ok_or("matchExpressions values must be strings")?;
            let key = expr["key"].as_str().unwrap_or("");
            reqs.push(Requirement::new(key, op, values)?);
        }
        Ok(Self::of(reqs))
    }
}

/// The canonical form (`app=web,tier in (a,b)`), as `metav1.FormatLabelSelector` prints it.
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.reqs.iter().flatten().map(|r| r.to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(s: &str) -> LabelSelector {
        LabelSelector::parse(s).unwrap()
    }

    #[test]
    fn label_operators_and_combinations() {
        let l = json!({"app": "web", "tier": "front", "in": "notin", "e": ""});
        let yes = "app=web;app==web;app!=api;none!=x;tier in (front,back);tier notin (back);\
                   none notin (a);app;!none;in in (notin);e=;e in (a,,b);e in (a,);e in ();\
                    app = web , tier in ( front , back ),!canary ";
        let no = "app=api;app!=web;tier in (back);none in (a);tier notin (front);none;!app;\
                  app=web,tier=back;app,none";
        for (cases, want) in [(yes, true), (no, false)] {
            for s in cases.split(';') {
                assert_eq!(sel(s).matches(l.as_object()), want, "{s}");
            }
        }
        assert!(sel("").matches(None) && sel(" \t").matches(l.as_object()));
        assert!(sel("app!=web").matches(None) && !sel("app").matches(None));
        assert_eq!(
            sel("z,!y,x in (b,a),w!=1").to_string(),
            "w!=1,x in (a,b),!y,z"
        );
        let prefixed = json!({"example.com/app": "web"});
        assert!(sel("example.com/app=web").matches(prefixed.as_object()));
    }

    #[test]
    fn bad_label_syntax() {
        // input | expected start of the error; "U: " is "unable to parse requirement: ".
        let cases = r#"app in | U: found '' expected: '('
            app in (a | U: found '', expected: ',' or ')'
            app in (a b) | U: found 'b', expected: ',' or ')'
            app in (= | U: found '=', expected: ',', ')' or identifier
            a b | U: found 'b', expected: in, notin, =, ==, !=
            a=( | U: found '(', expected: identifier
            ! | U: found '', expected: identifier
            app=web, | found '', expected: identifier after ','
            ,app | found ',', expected: !, identifier, or 'end of string'
            a=b=c | found '=', expected: ',' or 'end of string'
            !a=b | found '=', expected: ',' or 'end of string'
            -a=b | U: invalid label key "-a": name part must consist of
            a=b@ | U: invalid label value: "b@": at key: "a": a valid label must be
            Ex.com/a | U: invalid label key "Ex.com/a": prefix part must be
            /a | U: invalid label key "/a": prefix part
            a/b/c | U: invalid label key "a/b/c": name part must"#;
        for line in cases.lines() {
            let (input, want) = line.trim().split_once(" | ").unwrap();
            let err = LabelSelector::parse(input).unwrap_err();
            let want = want.replace("U: ", "unable to parse requirement: ");
            assert!(err.starts_with(&want), "{input}: {err}");
        }
        let long = LabelSelector::parse(&format!("{}=v", "k".repeat(64))).unwrap_err();
        assert!(long.ends_with("name part must be no more than 63 characters"));
    }

    #[test]
    fn selector_objects() {
        let from = |v: Value| LabelSelector::from_selector_object(&v);
        let s = from(json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "back"]},
                {"key": "track", "operator": "NotIn", "values": ["canary"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist", "values": []}
            ]
        }))
        .unwrap();
        let printed = "app=web,!legacy,team,tier in (back,front),track notin (canary)";
        assert_eq!(s.to_string(), printed);
        assert!(s.matches(json!({"app": "web", "tier": "back", "team": "x"}).as_object()));
        assert!(!s.matches(json!({"app": "web", "tier": "back"}).as_object()));
        assert!(from(json!({})).unwrap().matches(None));
        assert!(!from(Value::Null).unwrap().matches(None));
        let bad = |op: &str, values: Value| {
            let expr = json!({"key": "a", "operator": op, "values": values});
            from(json!({"matchExpressions": [expr]})).unwrap_err()
        };
        let want = "\"Gt\" is not a valid label selector operator";
        assert_eq!(bad("Gt", json!(["1"])), want);
        let want = "for 'in', 'notin' operators, values set can't be empty";
        assert_eq!(bad("In", json!([])), want);
        let want = "values set must be empty for exists and does not exist";
        assert_eq!(bad("Exists", json!(["x"])), want);
    }
}
