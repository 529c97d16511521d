//! A parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text.
//!
//! Ours rather than a crate's: the crates we tried drop or mis-split samples whose label
//! values hold `,` `=` `}`, leave values escaped, or refuse valid 0.0.4 such as a body without
//! its final newline (reference/metrics.md §3). The output is deliberately flat: families and
//! their samples, labels sorted and unescaped. Grouping buckets, parsing `le`/`quantile`,
//! comparing `+Inf` with `_count` and ignoring `_created` are the caller's decisions.
//!
//! Every error carries its 1-based line. Strings are only sliced at positions reached by
//! stepping over whole characters, so no input can make the parser panic.

use std::collections::HashMap;
use std::fmt;

mod lexer;

use lexer::{Cursor, exemplar, labels, timestamp, unescape_help};

/// Which text format a body is in; they differ in metadata, timestamps and termination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text004,
    OpenMetrics,
}

impl Format {
    /// From a Content-Type header (`application/openmetrics-text...` → OpenMetrics, anything
    /// else → Text004).
    pub fn from_content_type(ct: &str) -> Self {
        const OPENMETRICS: &str = "application/openmetrics-text";
        match ct.trim_start().get(..OPENMETRICS.len()) {
            Some(media) if media.eq_ignore_ascii_case(OPENMETRICS) => Format::OpenMetrics,
            _ => Format::Text004,
        }
    }
}

/// The Accept header to send when scraping. 0.0.4 first: every client library can write it,
/// while clients that only speak OpenMetrics (Rust's prometheus-client) still qualify.
pub const ACCEPT: &str =
    "text/plain;version=0.0.4;q=1.0,application/openmetrics-text;version=1.0.0;q=0.5";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
    GaugeHistogram,
    StateSet,
    Info,
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    /// Sorted by name, values unescaped.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// OpenMetrics timestamps (float seconds) are converted to milliseconds.
    pub timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub kind: MetricType,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// The families of a whole body, in order of first mention, or the first bad line: as in
/// Prometheus, a scrape with a malformed line fails rather than being half read.
pub fn parse(text: &str, format: Format) -> Result<Vec<Family>, ParseError> {
    let untyped = match format {
        Format::Text004 => MetricType::Untyped,
        Format::OpenMetrics => MetricType::Unknown,
    };
    let mut parser = Parser {
        format,
        untyped,
        families: Vec::new(),
        index: HashMap::new(),
    };
    // A final newline ends the last line rather than starting an empty one; a body without
    // one is accepted too, as Prometheus does.
    let body = text.strip_suffix('\n').unwrap_or(text);
    let (mut line, mut eof) = (0, false);
    for raw in body.split('\n').filter(|_| !text.is_empty()) {
        line += 1;
        let result = match eof {
            true => Err("expected nothing after \"# EOF\"".to_string()),
            false => parser.line(&mut Cursor { s: raw, pos: 0 }),
        };
        eof = result.map_err(|message| ParseError { line, message })?;
    }
    if format == Format::OpenMetrics && !eof {
        let message = "expected \"# EOF\" as the last line, found the end of the input";
        return Err(ParseError {
            line: line.max(1),
            message: message.to_string(),
        });
    }
    let families = parser.families.into_iter().map(|(family, _)| family);
    Ok(families.collect())
}

/// Enforces "TYPE at most once, before its samples".
#[derive(Default)]
struct Seen {
    typed: bool,
    sampled: bool,
}

struct Parser {
    format: Format,
    /// The type of a family with samples but no TYPE line.
    untyped: MetricType,
    families: Vec<(Family, Seen)>,
    index: HashMap<String, usize>,
}

/// Every suffix a sample may add to its family's name, in either format.
const SUFFIXES: [&str; 8] = [
    "_bucket", "_sum", "_count", "_total", "_created", "_gsum", "_gcount", "_info",
];

fn suffixes(kind: MetricType, format: Format) -> &'static [&'static str] {
    use MetricType::*;
    let om = format == Format::OpenMetrics;
    match kind {
        // 0.0.4 names counters in full (`x_total`); OpenMetrics names the family (`x`).
        Counter if om => &["_total", "_created"],
        Histogram if om => &["_bucket", "_sum", "_count", "_created"],
        Histogram => &["_bucket", "_sum", "_count"],
        Summary if om => &["_sum", "_count", "_created"],
        Summary => &["_sum", "_count"],
        GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
        Info => &["_info"],
        _ => &[],
    }
}

fn metric_type(word: &str, om: bool) -> Option<MetricType> {
    use MetricType::*;
    // Go's expfmt reads 0.0.4 types in any case; OpenMetrics wants them in lower case.
    let lower = word.to_ascii_lowercase();
    let word = if om { word } else { &lower };
    Some(match word {
        "counter" => Counter,
        "gauge" => Gauge,
        "histogram" => Histogram,
        "summary" => Summary,
        "untyped" if !om => Untyped,
        "gaugehistogram" if om => GaugeHistogram,
        "stateset" if om => StateSet,
        "info" if om => Info,
        "unknown" if om => Unknown,
        _ => return None,
    })
}

const KINDS_004: &str = "counter, gauge, histogram, summary or untyped";
const KINDS_OM: &str =
    "counter, gauge, histogram, gaugehistogram, stateset, info, summary or unknown";

/// The shape of nearly every message: what the grammar wanted, then what the line has.
pub(super) fn expected<T>(what: impl fmt::Display, found: &str) -> Result<T, String> {
    Err(format!("expected {what}, found {}", describe(found)))
}

/// The next word of `rest`, quoted and cut short, or what stands in its place.
pub(super) fn describe(rest: &str) -> String {
    let word = rest.split([' ', '\t']).next().unwrap_or(rest);
    let mut shown: String = word.chars().take(24).collect();
    if shown.len() < word.len() {
        shown.push('…');
    }
    match rest.chars().next() {
        None => "the end of the line".to_string(),
        Some(' ') => "a space".to_string(),
        Some('\t') => "a tab".to_string(),
        Some(_) => format!("{shown:?}"),
    }
}

impl Parser {
    fn om(&self) -> bool {
        self.format == Format::OpenMetrics
    }

    /// Returns whether the line was `# EOF`.
    fn line(&mut self, c: &mut Cursor) -> Result<bool, String> {
        c.skip_blank();
        match c.peek() {
            None if self.om() => Err("expected no blank lines in OpenMetrics, found one".into()),
            None => Ok(false),
            Some('#') => {
                c.bump();
                self.comment(c)
            }
            Some(_) => self.sample(c).map(|()| false),
        }
    }

    fn comment(&mut self, c: &mut Cursor) -> Result<bool, String> {
        let om = self.om();
        c.skip_blank();
        let word = c.token();
        match word {
            "HELP" | "TYPE" => {}
            "UNIT" | "EOF" if om => {}
            _ if om => return expected("HELP, TYPE, UNIT or EOF after \"#\"", word),
            // Anything else is a comment in 0.0.4.
            _ => return Ok(false),
        }
        c.skip_blank();
        if word == "EOF" {
            return if c.at_end() {
                Ok(true)
            } else {
                c.want("nothing after \"# EOF\"")
            };
        }
        let name = c.name(true);
        if name.is_empty() {
            return c.want(format_args!("a metric name after {word}"));
        }
        if !c.skip_blank() && !c.at_end() {
            return c.want(format_args!("a space after the name in {word}"));
        }
        if word == "HELP" {
            self.help(name, unescape_help(c.rest(), om))?;
        } else if word == "TYPE" {
            let keyword = c.token();
            c.skip_blank();
            if !c.at_end() {
                return c.want("the end of the line after the type");
            }
            let Some(kind) = metric_type(keyword, om) else {
                let kinds = if om { KINDS_OM } else { KINDS_004 };
                return expected(format_args!("a metric type ({kinds})"), keyword);
            };
            self.set_type(name, kind)?;
        }
        // A UNIT adds nothing the caller uses; it only has to be well formed.
        Ok(false)
    }

    fn family(&mut self, name: &str, kind: Option<MetricType>) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let family = Family {
            name: name.to_string(),
            kind: kind.unwrap_or(self.untyped),
            help: None,
            samples: Vec::new(),
        };
        self.families.push((family, Seen::default()));
        self.index.insert(name.to_string(), self.families.len() - 1);
        self.families.len() - 1
    }

    fn help(&mut self, name: &str, text: String) -> Result<(), String> {
        let i = self.family(name, None);
        let help = &mut self.families[i].0.help;
        if help.is_some() {
            return Err(format!("expected one HELP line for {name:?}, found two"));
        }
        *help = Some(text);
        Ok(())
    }

    fn set_type(&mut self, name: &str, kind: MetricType) -> Result<(), String> {
        // Samples such as `x_bucket` that came before `# TYPE x histogram` were filed under a
        // family of their own: that is a TYPE after its samples too.
        for suffix in suffixes(kind, self.format) {
            let member = format!("{name}{suffix}");
            if let Some(&j) = self.index.get(&member)
                && let (_, seen) = &self.families[j]
                && seen.sampled
                && !seen.typed
            {
                return Err(format!("expected TYPE {name} before {member:?} samples"));
            }
        }
        let i = self.family(name, Some(kind));
        let (family, seen) = &mut self.families[i];
        if seen.typed {
            return Err(format!("expected one TYPE line for {name:?}, found two"));
        }
        if seen.sampled {
            return Err(format!("expected TYPE {name} before its samples"));
        }
        seen.typed = true;
        family.kind = kind;
        Ok(())
    }

    /// The family a sample belongs to: its own name's first, so that Python's `x_created`
    /// gauges keep theirs in 0.0.4; then a typed family whose sample suffixes include its own.
    fn family_of(&mut self, name: &str) -> usize {
        if self.index.contains_key(name) {
            return self.family(name, None);
        }
        for suffix in SUFFIXES {
            if let Some(base) = name.strip_suffix(suffix)
                && let Some(&i) = self.index.get(base)
                && suffixes(self.families[i].0.kind, self.format).contains(&suffix)
            {
                return i;
            }
        }
        self.family(name, None)
    }

    fn sample(&mut self, c: &mut Cursor) -> Result<(), String> {
        let om = self.om();
        let name = c.name(true);
        if name.is_empty() {
            return c.want("a metric name or \"#\"");
        }
        let blank = c.skip_blank();
        let braced = c.eat('{');
        let labels = if braced { labels(c)? } else { Vec::new() };
        c.skip_blank();
        let token = c.token();
        let value = match token.parse::<f64>() {
            Ok(value) if blank || braced => value,
            _ => {
                let after = if braced { "label set" } else { "metric name" };
                return expected(format_args!("a value after the {after}"), token);
            }
        };
        c.skip_blank();
        let mut timestamp_ms = None;
        if !(c.at_end() || om && c.peek() == Some('#')) {
            timestamp_ms = Some(timestamp(c.token(), om, "the value")?);
            c.skip_blank();
        }
        if om && c.eat('#') {
            exemplar(c)?;
        }
        if !c.at_end() {
            return c.want("the end of the line after the sample");
        }

        let i = self.family_of(name);
        let (family, seen) = &mut self.families[i];
        let has = |label: &str| labels.iter().any(|(k, _)| k == label);
        let suffix = name.strip_prefix(family.name.as_str());
        use MetricType::*;
        match family.kind {
            Histogram | GaugeHistogram if suffix == Some("_bucket") && !has("le") => {
                return Err(format!("expected an \"le\" label on {name:?}"));
            }
            Summary if suffix == Some("") && !has("quantile") => {
                return Err(format!("expected a \"quantile\" label on {name:?}"));
            }
            _ => {}
        }
        seen.sampled = true;
        let name = name.to_string();
        family.samples.push(Sample {
            name,
            labels,
            value,
            timestamp_ms,
        });
        Ok(())
    }
}
