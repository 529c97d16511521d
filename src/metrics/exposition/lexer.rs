//! The lexical layer of the exposition parser: a cursor over one line, label sets with their
//! escapes, exemplars, timestamps and HELP text.

use std::fmt;

use super::expected;

/// After the opening `{`: the label pairs up to and including `}`, sorted by name.
pub(super) fn labels(c: &mut Cursor) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    loop {
        c.skip_blank();
        // Checked here rather than after the comma so that a trailing comma is accepted.
        if c.eat('}') {
            break;
        }
        let name = c.name(false);
        if name.is_empty() {
            return c.want("a label name or \"}\"");
        }
        c.expect('=', format_args!("\"=\" after the label name {name:?}"))?;
        c.expect('"', format_args!("a quoted value for the label {name:?}"))?;
        let Some(value) = c.quoted() else {
            return expected(format_args!("a closing '\"' for the label {name:?}"), "");
        };
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("expected each label once, found {name:?} twice"));
        }
        out.push((name.to_string(), value));
        c.skip_blank();
        if c.eat('}') {
            break;
        }
        let separator = format!("\",\" or \"}}\" after the label {name:?}");
        c.expect(',', separator)?;
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// ` # {labels} value [timestamp]` after an OpenMetrics sample, from after the `#`. Checked
/// so that a mangled line is reported, then dropped: the cockpit has no use for trace ids.
pub(super) fn exemplar(c: &mut Cursor) -> Result<(), String> {
    c.expect('{', "an exemplar's label set after \"#\"")?;
    labels(c)?;
    c.skip_blank();
    let token = c.token();
    if token.parse::<f64>().is_err() {
        return expected("an exemplar value after its label set", token);
    }
    c.skip_blank();
    if !c.at_end() {
        timestamp(c.token(), true, "the exemplar value")?;
    }
    Ok(())
}

/// Integer milliseconds in 0.0.4, float seconds in OpenMetrics; milliseconds either way.
pub(super) fn timestamp(token: &str, seconds: bool, after: &str) -> Result<i64, String> {
    let (ms, unit) = match seconds {
        false => (token.parse::<i64>().ok(), "integer milliseconds"),
        true => (token.parse().ok().and_then(seconds_to_ms), "seconds"),
    };
    let what = format!("a timestamp in {unit} after {after}");
    ms.map_or_else(|| expected(what, token), Ok)
}

/// Rounded, not truncated: 1700000000.001 s is 1700000000000.9998 ms in binary.
pub(super) fn seconds_to_ms(seconds: f64) -> Option<i64> {
    let ms = seconds * 1000.0;
    (ms.is_finite() && ms.abs() < 9.2e18).then(|| ms.round() as i64)
}

/// `\\` and `\n` in both formats, `\"` only in OpenMetrics; anything else stays as written.
pub(super) fn unescape_help(text: &str, om: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        let escaped = if ch == '\\' { chars.next() } else { None };
        match escaped {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if om => out.push('"'),
            Some(other) => out.extend(['\\', other]),
            None => out.push(ch),
        }
    }
    out
}

/// A position in one line. `pos` only ever moves by whole characters, so slicing at it
/// cannot split one.
pub(super) struct Cursor<'a> {
    pub(super) s: &'a str,
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    pub(super) fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn bump(&mut self) -> Option<char> {
        let ch = self.peek()?;
        self.pos += ch.len_utf8();
        Some(ch)
    }

    pub(super) fn eat(&mut self, want: char) -> bool {
        self.peek() == Some(want) && self.bump().is_some()
    }

    /// Skips blanks, then takes `want` or fails saying what was expected instead.
    pub(super) fn expect(&mut self, want: char, what: impl fmt::Display) -> Result<(), String> {
        self.skip_blank();
        match self.eat(want) {
            true => Ok(()),
            false => self.want(what),
        }
    }

    pub(super) fn want<T>(&self, what: impl fmt::Display) -> Result<T, String> {
        expected(what, self.rest())
    }

    /// Skips spaces and tabs; returns whether there were any.
    pub(super) fn skip_blank(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    pub(super) fn token(&mut self) -> &'a str {
        let rest = self.rest();
        let word = rest.split([' ', '\t']).next().unwrap_or(rest);
        self.pos += word.len();
        word
    }

    /// A metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) or, without colons, a label name.
    pub(super) fn name(&mut self, colons: bool) -> &'a str {
        let rest = self.rest();
        let ok = |i, ch: char| {
            let digit = i > 0 && ch.is_ascii_digit();
            ch.is_ascii_alphabetic() || ch == '_' || colons && ch == ':' || digit
        };
        let end = rest.char_indices().find(|&(i, ch)| !ok(i, ch));
        let len = end.map_or(rest.len(), |(i, _)| i);
        self.pos += len;
        &rest[..len]
    }

    /// After the opening quote: the unescaped value up to the closing quote, or `None` if
    /// the line ends first.
    pub(super) fn quoted(&mut self) -> Option<String> {
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => match self.bump()? {
                    'n' => out.push('\n'),
                    ch @ ('\\' | '"') => out.push(ch),
                    // Prometheus' own scraper keeps unknown escapes verbatim.
                    ch => out.extend(['\\', ch]),
                },
                ch => out.push(ch),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exposition::describe;

    fn cursor(s: &str) -> Cursor<'_> {
        Cursor { s, pos: 0 }
    }

    type Labels = Result<Vec<(String, String)>, String>;

    fn labels_of(s: &str) -> Labels {
        let mut c = cursor(s);
        let labels = labels(&mut c)?;
        assert_eq!(c.rest(), " tail", "stops after the closing brace of {s}");
        Ok(labels)
    }

    fn pairs(labels: &[(&str, &str)]) -> Labels {
        let owned = |&(k, v): &(&str, &str)| (k.to_string(), v.to_string());
        Ok(labels.iter().map(owned).collect())
    }

    #[test]
    fn quoted_values_unescape_three_sequences_and_keep_the_rest() {
        let q = |s: &str| cursor(s).quoted();
        assert_eq!(q(r#"a,b=c}d{" tail"#).as_deref(), Some("a,b=c}d{"));
        assert_eq!(q(r#"\\\"\n" tail"#).as_deref(), Some("\\\"\n"));
        assert_eq!(q(r#"\t\u00e9ü✓""#).as_deref(), Some("\\t\\u00e9ü✓"));
        assert_eq!(q(r#"""#).as_deref(), Some(""));
        assert_eq!((q(r#"\""#), q(r#"ab\"#), q("ab")), (None, None, None));
    }

    #[test]
    fn label_sets_sort_and_allow_separators_blanks_and_a_trailing_comma() {
        let want = pairs(&[("a", "1"), ("b", "x,y=\"z\"}")]);
        assert_eq!(labels_of(r#"b="x,y=\"z\"}",a="1"} tail"#), want);
        assert_eq!(labels_of(r#" b = "x,y=\"z\"}"	, a="1" , } tail"#), want);
        assert_eq!(labels_of("} tail"), pairs(&[]));
        assert_eq!(labels_of(r#"a="1",} tail"#), pairs(&[("a", "1")]));
        // input => message
        let table = r#"
,}            => expected a label name or "}", found ",}"
a="1",,}      => expected a label name or "}", found ",}"
é="1"}        => expected a label name or "}", found "é=\"1\"}"
a:b="1"}      => expected "=" after the label name "a", found ":b=\"1\"}"
a=1}          => expected a quoted value for the label "a", found "1}"
a="1" b="2"}  => expected "," or "}" after the label "a", found "b=\"2\"}"
a="1          => expected a closing '"' for the label "a", found the end of the line
a="1",a="2"}  => expected each label once, found "a" twice
a="1"         => expected "," or "}" after the label "a", found the end of the line
"#;
        for (input, want) in table.lines().filter_map(|l| l.split_once(" => ")) {
            assert_eq!(
                labels_of(input.trim_end()),
                Err(want.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn names_tokens_and_descriptions_step_over_whole_characters() {
        let mut c = cursor("a:b_1{x");
        assert_eq!((c.name(true), c.rest()), ("a:b_1", "{x"));
        assert_eq!(cursor("a:b").name(false), "a");
        assert_eq!((cursor("1a").name(true), cursor("ü").name(true)), ("", ""));
        let mut c = cursor("1.5e3\t  next");
        assert_eq!(c.token(), "1.5e3");
        assert!(c.skip_blank() && c.rest() == "next");
        assert_eq!(describe(""), "the end of the line");
        assert_eq!(describe("\tx"), "a tab");
        assert_eq!(describe("x\"y z"), r#""x\"y""#);
        let long = "ü".repeat(30);
        assert_eq!(describe(&long), format!("\"{}…\"", &long[..48]));
    }

    #[test]
    fn values_timestamps_and_help_text() {
        let v = |s: &str| s.parse::<f64>().unwrap();
        assert!(v("NaN").is_nan());
        let inf = f64::INFINITY;
        assert_eq!([v("+Inf"), v("-Inf"), v("Inf")], [inf, -inf, inf]);
        assert_eq!(
            [v("1e3"), v("-0.5"), v("7"), v("1.7e9")],
            [1e3, -0.5, 7.0, 1.7e9]
        );
        let ts = |token, seconds| timestamp(token, seconds, "the value").ok();
        assert_eq!((ts("-1700", false), ts("1.5", false)), (Some(-1700), None));
        assert_eq!(ts("1700000000.001", true), Some(1_700_000_000_001));
        assert_eq!(ts("5", true), Some(5000));
        assert_eq!((ts("NaN", true), ts("1e300", true)), (None, None));
        let help = r#"a\\b\nc\"d\t\"#;
        assert_eq!(unescape_help(help, false), "a\\b\nc\\\"d\\t\\");
        assert_eq!(unescape_help(r#"a\\b\nc\"d\\n"#, true), "a\\b\nc\"d\\n");
    }
}
