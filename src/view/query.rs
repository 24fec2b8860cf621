//! The trace-list filter: the small query language typed after `/`. A query is parsed once into
//! terms whose needles are already lowercased, then tested against each [`TraceRow`] without
//! allocating (ASCII needles) — so filtering a long list per keystroke stays cheap.
//!
//! Grammar, informally:
//!
//! ```text
//! query  = term*                                  (whitespace-separated, ANDed)
//! term   = ["-"] (field-term | text)              ("-" negates)
//! field-term = NAME OP value                      (NAME: letters, digits, `_`)
//! OP     = ":" | "=" | "!=" | ">" | ">=" | "<" | "<="
//! value, text = bare or "double quoted" pieces    (`\"` and `\\` escape inside quotes)
//! ```
//!
//! Text fields take `:` (substring) or `=` (whole value), both case-insensitive; number fields
//! take every comparison (`:` means `=`, and `cost:>0.05` is read as `cost>0.05`). Errors are
//! values carrying the byte span of the offending term so the status bar can underline it.

use crate::semconv::cohort::CohortKey;
use crate::semconv::value::contains_ci;
use crate::store::keep::KeepReason;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use super::row::TraceRow;

/// The field names a query understands (aliases aside), as listed in the unknown-field message.
pub const FIELDS: &[&str] = &[
    "model", "provider", "route", "service", "tenant", "prompt", "name", "status", "has", "eval", "cost",
    "dur", "tokens", "in", "out", "spans", "calls", "errors", "kept", "trace", "severity", "body",
];

/// Shortest trace id prefix `trace:` takes (hex digits).
pub const MIN_TRACE_PREFIX: usize = crate::model::TraceIdPrefix::MIN;

/// A log record or a metric series as the filter sees it (the logs and metrics views): the
/// fields a trace row has that such a record lacks match nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Record<'a> {
    pub trace_id: Option<&'a crate::model::TraceId>,
    pub service: &'a str,
    pub model: Option<&'a str>,
    /// The event or metric name.
    pub name: Option<&'a str>,
    pub severity_number: i32,
    pub severity_text: &'a str,
    pub body: &'a str,
    pub attrs: &'a [(String, String)],
}

/// What `has:` accepts.
const HAS_VALUES: &str = "cost, verdicts, errors, unpriced, route, tenant, prompt, model";

/// Why a query did not parse: the byte range of the offending term in the input, and a one-line
/// message.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryError {
    pub span: Range<usize>,
    pub message: String,
}

impl QueryError {
    fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        QueryError {
            span,
            message: message.into(),
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

/// A parsed filter. The default (and the parse of an empty or all-whitespace input) matches
/// every row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    text: String,
    /// Row-only terms first, free text (which may ask the content callback) last.
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq)]
struct Term {
    negated: bool,
    /// Byte range in [`Query::text`].
    span: Range<usize>,
    pred: Pred,
}

#[derive(Debug, Clone, PartialEq)]
enum Pred {
    /// Lowercased free text: the row's names, else the trace's content.
    Text(String),
    /// Lowercased needle; `exact` compares the whole value, else a substring.
    Str {
        field: StrField,
        needle: String,
        exact: bool,
    },
    Status {
        error: bool,
    },
    Has(Has),
    /// Kept for this reason (failure-biased retention); `None` means for any reason.
    Kept(Option<KeepReason>),
    /// A trace id prefix, lowercase hex.
    Trace(crate::model::TraceIdPrefix),
    /// A log severity range (OTLP severity numbers, inclusive).
    Severity(i32, i32),
    /// Lowercased needle in a log body.
    Body(String),
    Num {
        field: NumField,
        op: Op,
        value: f64,
    },
    /// `name` is lowercased; `None` means any verdict.
    Eval {
        name: Option<String>,
        test: EvalTest,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrField {
    Model,
    Provider,
    Route,
    Service,
    Tenant,
    Prompt,
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumField {
    /// USD.
    Cost,
    /// Nanoseconds.
    Duration,
    Tokens,
    Input,
    Output,
    Spans,
    Calls,
    Errors,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Has {
    Cost,
    Verdicts,
    Errors,
    Unpriced,
    Route,
    Tenant,
    Prompt,
    Model,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum EvalTest {
    Present,
    Pass,
    Fail,
    Score(Op, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn test(self, actual: f64, wanted: f64) -> bool {
        // Sums of float costs rarely land exactly on a typed number: `=` allows a hair.
        let equal = (actual - wanted).abs() <= 1e-9 * wanted.abs().max(1.0);
        match self {
            Op::Eq => equal,
            Op::Ne => !equal,
            Op::Lt => actual < wanted,
            Op::Le => actual <= wanted,
            Op::Gt => actual > wanted,
            Op::Ge => actual >= wanted,
        }
    }
}

/// An operator as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawOp {
    Colon,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl RawOp {
    /// The operator at the start of `s`, with its length.
    fn parse(s: &str) -> Option<(RawOp, usize)> {
        let b = s.as_bytes();
        let second_eq = b.get(1) == Some(&b'=');
        Some(match b.first()? {
            b':' => (RawOp::Colon, 1),
            b'=' => (RawOp::Eq, 1),
            b'!' if second_eq => (RawOp::Ne, 2),
            b'<' if second_eq => (RawOp::Le, 2),
            b'<' => (RawOp::Lt, 1),
            b'>' if second_eq => (RawOp::Ge, 2),
            b'>' => (RawOp::Gt, 1),
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            RawOp::Colon => ":",
            RawOp::Eq => "=",
            RawOp::Ne => "!=",
            RawOp::Lt => "<",
            RawOp::Le => "<=",
            RawOp::Gt => ">",
            RawOp::Ge => ">=",
        }
    }

    fn numeric(self) -> Op {
        match self {
            RawOp::Colon | RawOp::Eq => Op::Eq,
            RawOp::Ne => Op::Ne,
            RawOp::Lt => Op::Lt,
            RawOp::Le => Op::Le,
            RawOp::Gt => Op::Gt,
            RawOp::Ge => Op::Ge,
        }
    }
}

enum Field {
    Str(StrField),
    Num(NumField),
    Status,
    Has,
    Eval,
    Kept,
    Trace,
    Severity,
    Body,
}

impl Field {
    /// `key` is already ASCII-lowercased.
    fn lookup(key: &str) -> Option<Field> {
        Some(match key {
            "model" | "models" => Field::Str(StrField::Model),
            "provider" | "providers" => Field::Str(StrField::Provider),
            "route" => Field::Str(StrField::Route),
            "service" => Field::Str(StrField::Service),
            "tenant" => Field::Str(StrField::Tenant),
            "prompt" | "prompt_version" => Field::Str(StrField::Prompt),
            "name" | "root" => Field::Str(StrField::Name),
            "status" => Field::Status,
            "has" => Field::Has,
            "eval" | "evals" | "verdict" => Field::Eval,
            "cost" => Field::Num(NumField::Cost),
            "dur" | "duration" | "latency" => Field::Num(NumField::Duration),
            "tokens" => Field::Num(NumField::Tokens),
            "in" | "input" | "input_tokens" => Field::Num(NumField::Input),
            "out" | "output" | "output_tokens" => Field::Num(NumField::Output),
            "spans" => Field::Num(NumField::Spans),
            "calls" | "llm_calls" => Field::Num(NumField::Calls),
            "errors" | "error_spans" => Field::Num(NumField::Errors),
            "kept" => Field::Kept,
            "trace" | "trace_id" | "traceid" => Field::Trace,
            "severity" | "level" => Field::Severity,
            "body" => Field::Body,
            _ => return None,
        })
    }
}

impl Query {
    /// Parses `input`; an empty or all-whitespace input gives a query that matches everything.
    pub fn parse(input: &str) -> Result<Query, QueryError> {
        let mut terms = Vec::new();
        for span in split_terms(input)? {
            terms.push(parse_term(&input[span.clone()], span)?);
        }
        // Stable: row-only terms keep their order and run before any content lookup.
        terms.sort_by_key(|t| matches!(t.pred, Pred::Text(_)));
        Ok(Query {
            text: input.to_owned(),
            terms,
        })
    }

    /// Whether the query has no terms, i.e. matches everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether any term needs span content (free text) — then the caller passes a content matcher.
    pub fn needs_content(&self) -> bool {
        self.terms.iter().any(|t| matches!(t.pred, Pred::Text(_)))
    }

    /// Whether `row` passes every term. `content` is asked (lowercased needle) whether the trace's
    /// content contains the needle; it is only called for free-text terms not already satisfied by
    /// the row's names, and only once every row-only term has matched.
    pub fn matches(&self, row: &TraceRow, content: &mut dyn FnMut(&str) -> bool) -> bool {
        self.terms.iter().all(|t| t.pred.test(row, content) != t.negated)
    }

    /// Whether a log record or metric series passes every term.
    pub fn matches_record(&self, r: &Record<'_>) -> bool {
        self.terms.iter().all(|t| t.pred.test_record(r) != t.negated)
    }

    /// The trace id prefix of a `trace:` term, when the query has one (not negated).
    pub fn trace_prefix(&self) -> Option<&str> {
        self.terms.iter().find_map(|t| match &t.pred {
            Pred::Trace(p) if !t.negated => Some(p.as_str()),
            _ => None,
        })
    }

    /// The source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The byte ranges of the terms in [`Query::text`] (row-only terms first), e.g. for
    /// highlighting.
    pub fn term_spans(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.terms.iter().map(|t| t.span.clone())
    }
}

impl FromStr for Query {
    type Err = QueryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Query::parse(s)
    }
}

impl Pred {
    fn test(&self, row: &TraceRow, content: &mut dyn FnMut(&str) -> bool) -> bool {
        match self {
            Pred::Text(needle) => names_contain(row, needle) || content(needle),
            Pred::Str { field, needle, exact } => {
                let hit = |s: &str| {
                    if *exact {
                        eq_ci(s, needle)
                    } else {
                        contains_ci(s, needle)
                    }
                };
                match field {
                    StrField::Model => row.models.iter().any(|s| hit(s)),
                    StrField::Provider => row.providers.iter().any(|s| hit(s)),
                    StrField::Route => row.route.as_deref().is_some_and(hit),
                    StrField::Service => hit(&row.service),
                    StrField::Tenant => row.tenant.as_deref().is_some_and(hit),
                    StrField::Prompt => row.prompt_version.as_deref().is_some_and(hit),
                    StrField::Name => row.root_name.as_deref().is_some_and(hit),
                }
            }
            Pred::Status { error } => row.is_error() == *error,
            Pred::Has(what) => match what {
                Has::Cost => row.cost_usd.is_some(),
                Has::Verdicts => !row.verdicts.is_empty(),
                Has::Errors => row.error_spans > 0,
                Has::Unpriced => row.unpriced_calls > 0,
                Has::Route => row.route.is_some(),
                Has::Tenant => row.tenant.is_some(),
                Has::Prompt => row.prompt_version.is_some(),
                Has::Model => !row.models.is_empty(),
            },
            Pred::Trace(prefix) => prefix.matches(&row.id),
            // Log fields: a trace row has none.
            Pred::Severity(..) | Pred::Body(_) => false,
            Pred::Kept(None) => !row.kept.is_empty(),
            Pred::Kept(Some(r)) => row.kept.contains(*r),
            Pred::Num { field, op, value } => {
                let actual = match field {
                    NumField::Cost => match row.cost_usd {
                        Some(c) => c,
                        None => return false,
                    },
                    NumField::Duration => row.duration_nanos as f64,
                    NumField::Tokens => row.tokens() as f64,
                    NumField::Input => row.input_tokens as f64,
                    NumField::Output => row.output_tokens as f64,
                    NumField::Spans => f64::from(row.spans),
                    NumField::Calls => f64::from(row.llm_calls),
                    NumField::Errors => f64::from(row.error_spans),
                };
                op.test(actual, *value)
            }
            Pred::Eval { name, test } => row.verdicts.iter().any(|v| {
                name.as_deref().is_none_or(|n| eq_ci(&v.name, n))
                    && match test {
                        EvalTest::Present => true,
                        EvalTest::Pass => v.passed == Some(true),
                        EvalTest::Fail => v.passed == Some(false),
                        EvalTest::Score(op, x) => v.score.is_some_and(|s| op.test(s, *x)),
                    }
            }),
        }
    }
}

impl Pred {
    fn test_record(&self, r: &Record<'_>) -> bool {
        match self {
            Pred::Text(needle) => {
                contains_ci(r.body, needle)
                    || contains_ci(r.service, needle)
                    || r.name.is_some_and(|n| contains_ci(n, needle))
                    || r.model.is_some_and(|m| contains_ci(m, needle))
                    || r.attrs
                        .iter()
                        .any(|(k, v)| contains_ci(k, needle) || contains_ci(v, needle))
            }
            Pred::Str { field, needle, exact } => {
                let hit = |s: &str| {
                    if *exact {
                        eq_ci(s, needle)
                    } else {
                        contains_ci(s, needle)
                    }
                };
                match field {
                    StrField::Service => hit(r.service),
                    StrField::Model => r.model.is_some_and(hit),
                    StrField::Name => r.name.is_some_and(hit),
                    StrField::Provider => r
                        .attrs
                        .iter()
                        .any(|(k, v)| (k == "gen_ai.provider.name" || k == "gen_ai.system") && hit(v)),
                    StrField::Route | StrField::Tenant | StrField::Prompt => false,
                }
            }
            Pred::Status { error } => (r.severity_number >= SEVERITY_ERROR) == *error,
            Pred::Trace(prefix) => r.trace_id.is_some_and(|id| prefix.matches(id)),
            Pred::Severity(lo, hi) => {
                (*lo..=*hi).contains(&r.severity_number)
                    // Records with only a severity text are judged by it.
                    || (r.severity_number == 0 && severity_range(r.severity_text) == Some((*lo, *hi)))
            }
            Pred::Body(needle) => contains_ci(r.body, needle),
            Pred::Has(_) | Pred::Kept(_) | Pred::Num { .. } | Pred::Eval { .. } => false,
        }
    }
}

/// OTLP's first ERROR severity number.
const SEVERITY_ERROR: i32 = 17;

/// The severity numbers of a level name (OTLP: TRACE 1-4 ... FATAL 21-24).
fn severity_range(name: &str) -> Option<(i32, i32)> {
    let n = name.trim().to_ascii_lowercase();
    let level = match n.trim_end_matches(|c: char| c.is_ascii_digit()) {
        "trace" => 0,
        "debug" => 1,
        "info" => 2,
        "warn" | "warning" => 3,
        "error" | "err" => 4,
        "fatal" | "critical" => 5,
        _ => return None,
    };
    Some((1 + 4 * level, 4 + 4 * level))
}

/// Whether `id`'s lowercase hex starts with `prefix` (lowercase hex digits), without formatting.
/// Free text over the row's names: root, service, route, tenant, prompt version, models,
/// providers, costliest span and verdict names.
fn names_contain(row: &TraceRow, needle: &str) -> bool {
    let opt = |s: &Option<crate::intern::Sym>| s.as_deref().is_some_and(|s| contains_ci(s, needle));
    opt(&row.root_name)
        || contains_ci(&row.service, needle)
        || opt(&row.route)
        || opt(&row.tenant)
        || opt(&row.prompt_version)
        || row.models.iter().any(|m| contains_ci(m, needle))
        || row.providers.iter().any(|p| contains_ci(p, needle))
        || row
            .costliest_span
            .as_ref()
            .is_some_and(|(s, _)| contains_ci(s, needle))
        || row.verdicts.iter().any(|v| contains_ci(&v.name, needle))
}

/// Case-insensitive equality; `needle` is already lowercased.
fn eq_ci(haystack: &str, needle: &str) -> bool {
    if needle.is_ascii() {
        haystack.eq_ignore_ascii_case(needle)
    } else {
        haystack.to_lowercase() == needle
    }
}

/// Splits `input` into terms at whitespace outside double quotes.
fn split_terms(input: &str) -> Result<Vec<Range<usize>>, QueryError> {
    let mut terms = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut end = input.len();
        let mut quoted = false;
        while let Some((i, c)) = chars.next() {
            if quoted {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => quoted = false,
                    _ => {}
                }
            } else if c == '"' {
                quoted = true;
            } else if c.is_whitespace() {
                end = i;
                break;
            }
        }
        if quoted {
            return Err(QueryError::new(start..input.len(), "unterminated quote"));
        }
        terms.push(start..end);
    }
    Ok(terms)
}

/// Drops the quotes of a (balanced) piece of a term, resolving `\"` and `\\` inside them.
/// Returns the text and whether any quote was seen.
fn unquote(s: &str) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    let mut quoted = false;
    let mut any = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            '\\' if quoted => match chars.next() {
                Some(e @ ('"' | '\\')) => out.push(e),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            _ => out.push(c),
        }
    }
    (out, any)
}

/// The byte offset of the first comparison operator outside quotes (or the length).
fn operator_at(s: &str) -> usize {
    let b = s.as_bytes();
    let mut quoted = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b':' | b'=' | b'<' | b'>' if !quoted => return i,
            b'!' if !quoted && b.get(i + 1) == Some(&b'=') => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

fn parse_term(raw: &str, span: Range<usize>) -> Result<Term, QueryError> {
    let (negated, body) = match raw.strip_prefix('-') {
        Some("") => return Err(QueryError::new(span, "nothing to negate after `-`")),
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    // A field term starts with a name (letter or `_` first) directly followed by an operator.
    let key_len = body
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(body.len());
    let starts_like_name = body
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    let field = if starts_like_name {
        RawOp::parse(&body[key_len..])
    } else {
        None
    };
    let (pred, invert) = match field {
        Some((op, op_len)) => {
            let key = &body[..key_len];
            parse_field(key, op, &body[key_len + op_len..]).map_err(|m| QueryError::new(span.clone(), m))?
        }
        None => {
            let (text, _) = unquote(body);
            if text.is_empty() {
                return Err(QueryError::new(span, "empty search text"));
            }
            (Pred::Text(text.to_lowercase()), false)
        }
    };
    Ok(Term {
        negated: negated != invert,
        span,
        pred,
    })
}

/// One `key OP value` term; the flag asks to invert the result (`!=` on a text field).
fn parse_field(key: &str, op: RawOp, value: &str) -> Result<(Pred, bool), String> {
    let lkey = key.to_ascii_lowercase();
    let Some(field) = Field::lookup(&lkey) else {
        return Err(format!("unknown field `{key}` (fields: {})", FIELDS.join(", ")));
    };
    let missing = || format!("missing value after `{key}{}`", op.as_str());
    if value.is_empty() {
        return Err(missing());
    }
    let invert = op == RawOp::Ne;
    match field {
        Field::Str(field) => {
            let exact = match op {
                RawOp::Colon => false,
                RawOp::Eq | RawOp::Ne => true,
                _ => {
                    return Err(format!(
                        "`{key}` is text: use `{key}:part` or `{key}=whole` (`{}` compares numbers)",
                        op.as_str()
                    ));
                }
            };
            let (v, _) = unquote(value);
            if v.is_empty() {
                return Err(missing());
            }
            Ok((
                Pred::Str {
                    field,
                    needle: v.to_lowercase(),
                    exact,
                },
                invert,
            ))
        }
        Field::Status => {
            if !matches!(op, RawOp::Colon | RawOp::Eq | RawOp::Ne) {
                return Err(format!(
                    "`{key}` is `error` or `ok`: use `{key}:error` or `{key}:ok`"
                ));
            }
            let (v, _) = unquote(value);
            let error = match v.to_ascii_lowercase().as_str() {
                "error" | "errors" | "err" => true,
                "ok" => false,
                _ => return Err(format!("`{key}` is `error` or `ok`, not `{v}`")),
            };
            Ok((Pred::Status { error }, invert))
        }
        Field::Has => {
            if !matches!(op, RawOp::Colon | RawOp::Eq | RawOp::Ne) {
                return Err(format!("use `{key}:what` ({HAS_VALUES})"));
            }
            let (v, _) = unquote(value);
            let what = match v.to_ascii_lowercase().as_str() {
                "cost" => Has::Cost,
                "verdicts" | "verdict" | "evals" | "eval" => Has::Verdicts,
                "errors" | "error" => Has::Errors,
                "unpriced" => Has::Unpriced,
                "route" => Has::Route,
                "tenant" => Has::Tenant,
                "prompt" | "prompt_version" => Has::Prompt,
                "model" | "models" => Has::Model,
                _ => return Err(format!("unknown `{key}:{v}` (use {HAS_VALUES})")),
            };
            Ok((Pred::Has(what), invert))
        }
        Field::Kept => {
            if !matches!(op, RawOp::Colon | RawOp::Eq | RawOp::Ne) {
                return Err(format!("use `{key}:reason` ({})", kept_values()));
            }
            let (v, _) = unquote(value);
            let lv = v.to_ascii_lowercase();
            let reason = match lv.as_str() {
                "any" => None,
                _ => match KeepReason::from_name(&lv) {
                    Some(r) => Some(r),
                    None => return Err(format!("unknown `{key}:{v}` (use {})", kept_values())),
                },
            };
            Ok((Pred::Kept(reason), invert))
        }
        Field::Trace => {
            let (v, _) = unquote(value);
            match crate::model::TraceIdPrefix::parse(&v) {
                Ok(prefix) if matches!(op, RawOp::Colon | RawOp::Eq | RawOp::Ne) => {
                    Ok((Pred::Trace(prefix), invert))
                }
                Ok(_) => Err(format!(
                    "`{key}:` takes {MIN_TRACE_PREFIX} to 32 hex digits of a trace id"
                )),
                Err(why) => Err(format!("`{key}:` {why}")),
            }
        }
        Field::Severity => {
            let (v, _) = unquote(value);
            let (lo, hi) = severity_range(&v).ok_or_else(|| {
                format!("`{key}` is a level: trace, debug, info, warn, error or fatal, not `{v}`")
            })?;
            let pred = match op {
                RawOp::Colon | RawOp::Eq | RawOp::Ne => Pred::Severity(lo, hi),
                RawOp::Ge => Pred::Severity(lo, 24),
                RawOp::Gt => Pred::Severity(hi + 1, 24),
                RawOp::Le => Pred::Severity(1, hi),
                RawOp::Lt => Pred::Severity(1, lo - 1),
            };
            Ok((pred, invert))
        }
        Field::Body => {
            if !matches!(op, RawOp::Colon | RawOp::Ne) {
                return Err(format!("`{key}` is text: use `{key}:part`"));
            }
            let (v, _) = unquote(value);
            Ok((Pred::Body(v.to_lowercase()), invert))
        }
        Field::Eval => {
            if !matches!(op, RawOp::Colon | RawOp::Eq) {
                return Err(eval_usage(key));
            }
            parse_eval(key, value).map(|p| (p, false))
        }
        Field::Num(field) => {
            let (op, value) = numeric_op(op, value);
            let (v, _) = unquote(value);
            if v.is_empty() {
                return Err(missing());
            }
            Ok((
                Pred::Num {
                    field,
                    op,
                    value: parse_number(field, key, &v)?,
                },
                false,
            ))
        }
    }
}

/// What `kept:` accepts: `any` and every keep reason's name.
fn kept_values() -> String {
    let mut names = vec!["any"];
    names.extend(KeepReason::ALL.iter().map(|r| r.name()));
    names.join(", ")
}

fn eval_usage(key: &str) -> String {
    format!("use `{key}:Name<0.75`, `{key}:Name:fail`, `{key}:Name:pass`, `{key}:Name` or `{key}:fail`")
}

/// A numeric operator; after `:` an explicit comparison may follow (`cost:>0.05`).
fn numeric_op(op: RawOp, value: &str) -> (Op, &str) {
    if op == RawOp::Colon
        && let Some((inner, len)) = RawOp::parse(value)
        && inner != RawOp::Colon
    {
        return (inner.numeric(), &value[len..]);
    }
    (op.numeric(), value)
}

/// `eval:` values: `Name`, `Name OP score`, `Name:pass|fail`, or bare `pass|fail` for any verdict.
fn parse_eval(key: &str, value: &str) -> Result<Pred, String> {
    let cut = operator_at(value);
    let (name, quoted) = unquote(&value[..cut]);
    if name.is_empty() {
        return Err(eval_usage(key));
    }
    let rest = &value[cut..];
    let Some((op, op_len)) = RawOp::parse(rest) else {
        // No comparison: a bare `pass`/`fail` means any verdict; anything else (or quoted) a name.
        let any = |test| Ok(Pred::Eval { name: None, test });
        return match name.to_ascii_lowercase().as_str() {
            "fail" | "failed" if !quoted => any(EvalTest::Fail),
            "pass" | "passed" if !quoted => any(EvalTest::Pass),
            _ => Ok(Pred::Eval {
                name: Some(name.to_lowercase()),
                test: EvalTest::Present,
            }),
        };
    };
    let after = &rest[op_len..];
    let prefix = &value[..cut + op_len];
    if after.is_empty() {
        return Err(format!("missing value after `{key}:{prefix}`"));
    }
    let name = Some(name.to_lowercase());
    // `Name=fail` reads as `Name:fail` (a score is never a word).
    if op == RawOp::Eq {
        let (v, _) = unquote(after);
        let test = match v.to_ascii_lowercase().as_str() {
            "fail" | "failed" => Some(EvalTest::Fail),
            "pass" | "passed" => Some(EvalTest::Pass),
            _ => None,
        };
        if let Some(test) = test {
            return Ok(Pred::Eval { name, test });
        }
    }
    if op == RawOp::Colon {
        let (v, _) = unquote(after);
        match v.to_ascii_lowercase().as_str() {
            "fail" | "failed" => {
                return Ok(Pred::Eval {
                    name,
                    test: EvalTest::Fail,
                });
            }
            "pass" | "passed" => {
                return Ok(Pred::Eval {
                    name,
                    test: EvalTest::Pass,
                });
            }
            _ => {}
        }
        let starts_numeric = v.starts_with(|c: char| c.is_ascii_digit() || "<>=!.-".contains(c));
        if !starts_numeric {
            return Err(format!(
                "`{v}` is not `pass`, `fail` or a score (`{key}:{prefix}…`)"
            ));
        }
    }
    let (op, score) = numeric_op(op, after);
    let (v, _) = unquote(score);
    let x = match number_prefix(&v) {
        Some((x, "")) => x,
        _ => return Err(format!("bad number `{v}` for `{key}:{prefix}`")),
    };
    Ok(Pred::Eval {
        name,
        test: EvalTest::Score(op, x),
    })
}

/// `value` as a query value: bare when it reads back as itself, else in double quotes with `"`
/// and `\\` escaped. Words `eval:` reads as pass/fail (and empty values) are quoted too.
pub fn quote(value: &str) -> std::borrow::Cow<'_, str> {
    let special = |c: char| c.is_whitespace() || "\"\\:=<>!".contains(c);
    let word = matches!(
        value.to_ascii_lowercase().as_str(),
        "pass" | "passed" | "fail" | "failed"
    );
    if !value.is_empty() && !word && !value.contains(special) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    std::borrow::Cow::Owned(out)
}

/// Which traces of a cohort a query asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CohortFilter<'a> {
    /// Traces whose value is this (`route=/x`; a model or service used anywhere in the trace).
    Is(CohortKey, &'a str),
    /// Traces without a value (`-has:route`).
    Missing(CohortKey),
}

/// The query for the traces with a failing verdict of `evaluator`, in a cohort when given:
/// `eval:Groundedness:fail route=/support/refund`. The cohort term is about the trace (the
/// models it called, its root's service), not the one call the verdict judged.
pub fn failing_verdicts(evaluator: &str, cohort: Option<CohortFilter>) -> String {
    let mut q = format!("eval:{}:fail", quote(evaluator));
    let field = |key: CohortKey| match key {
        CohortKey::Model => Some("model"),
        CohortKey::Route => Some("route"),
        CohortKey::Service => Some("service"),
        CohortKey::Tenant => Some("tenant"),
        CohortKey::PromptVersion => Some("prompt"),
        _ => None,
    };
    match cohort {
        Some(CohortFilter::Is(key, value)) => {
            if let Some(f) = field(key) {
                q.push_str(&format!(" {f}={}", quote(value)));
            }
        }
        // Every trace has a service, so no `has:` term for it.
        Some(CohortFilter::Missing(key)) if key != CohortKey::Service => {
            if let Some(f) = field(key) {
                q.push_str(&format!(" -has:{f}"));
            }
        }
        _ => {}
    }
    q
}

/// A leading decimal number (optional `-`, digits, one `.`), and the rest.
fn number_prefix(s: &str) -> Option<(f64, &str)> {
    let b = s.as_bytes();
    let mut end = usize::from(b.first() == Some(&b'-'));
    while end < b.len() && (b[end].is_ascii_digit() || b[end] == b'.') {
        end += 1;
    }
    let x: f64 = s[..end].parse().ok()?;
    x.is_finite().then_some((x, &s[end..]))
}

/// A number for `field`, in the unit the row keeps: USD (`$` allowed), nanoseconds (units `ns`,
/// `us`, `ms`, `s`, `m`, `h`; none means milliseconds), or a count (`k`, `m` suffixes).
fn parse_number(field: NumField, key: &str, v: &str) -> Result<f64, String> {
    let digits = match field {
        NumField::Cost => v.strip_prefix('$').unwrap_or(v),
        _ => v,
    };
    let Some((x, suffix)) = number_prefix(digits) else {
        return Err(format!("bad number `{v}` for `{key}`"));
    };
    let scale = match field {
        NumField::Cost => match suffix {
            "" => 1.0,
            _ => return Err(format!("bad number `{v}` for `{key}`")),
        },
        NumField::Duration => match suffix.to_ascii_lowercase().as_str() {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "" | "ms" => 1e6,
            "s" | "sec" | "secs" => 1e9,
            "m" | "min" | "mins" => 60e9,
            "h" | "hr" | "hrs" => 3600e9,
            _ => {
                return Err(format!(
                    "unknown unit `{suffix}` in `{v}` (use ns, us, ms, s, m, h)"
                ));
            }
        },
        _ => match suffix {
            "" => 1.0,
            "k" | "K" => 1e3,
            "m" | "M" => 1e6,
            _ => return Err(format!("unknown suffix `{suffix}` in `{v}` (use k or m)")),
        },
    };
    Ok(x * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intern::Sym;
    use crate::model::TraceId;
    use crate::store::keep::KeepReasons;
    use crate::view::row::VerdictMark;

    fn sym(s: &str) -> Sym {
        Sym::from(s)
    }

    fn verdict(name: &str, score: Option<f64>, passed: Option<bool>) -> VerdictMark {
        VerdictMark {
            name: sym(name),
            score,
            passed,
        }
    }

    /// A refund request: two models, priced, two verdicts (one failed), no errors, 2.5 s.
    fn row() -> TraceRow {
        TraceRow {
            id: TraceId::default(),
            seq: 7,
            start_unix_nano: 1_800_000_000_000_000_000,
            duration_nanos: 2_500_000_000,
            root_name: Some(sym("POST /support/refund")),
            service: sym("support-api"),
            route: Some(sym("/support/refund")),
            tenant: Some(sym("Acme")),
            prompt_version: Some(sym("refund-v3")),
            session: None,
            user: None,
            models: vec![sym("gpt-4o-mini"), sym("claude-sonnet-4")],
            providers: vec![sym("openai"), sym("anthropic")],
            spans: 12,
            llm_calls: 3,
            error_spans: 0,
            input_tokens: 8_000,
            output_tokens: 4_500,
            cost_usd: Some(0.0712),
            unpriced_calls: 0,
            costliest_span: Some((sym("chat claude-sonnet-4"), 0.05)),
            primary_model: Some(sym("claude-sonnet-4")),
            verdicts: vec![
                verdict("Faithfulness", Some(0.62), Some(false)),
                verdict("toxicity", None, Some(true)),
            ],
            kept: [KeepReason::FailedVerdict].into_iter().collect(),
            reviewed: false,
            worst: None,
        }
    }

    /// A bare, failing trace: no root yet, unpriced, no verdicts, 40 ms.
    fn bare() -> TraceRow {
        TraceRow {
            id: TraceId::default(),
            seq: 8,
            start_unix_nano: 0,
            duration_nanos: 40_000_000,
            root_name: None,
            service: sym("batch-worker"),
            route: None,
            tenant: None,
            prompt_version: None,
            session: None,
            user: None,
            models: vec![sym("llama-3.1-8b")],
            providers: vec![sym("ollama")],
            spans: 2,
            llm_calls: 1,
            error_spans: 1,
            input_tokens: 100,
            output_tokens: 0,
            cost_usd: None,
            unpriced_calls: 1,
            costliest_span: None,
            primary_model: None,
            verdicts: vec![],
            kept: [KeepReason::Error, KeepReason::AlertExample]
                .into_iter()
                .collect(),
            reviewed: false,
            worst: None,
        }
    }

    fn q(s: &str) -> Query {
        Query::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn preds(s: &str) -> Vec<(bool, Pred)> {
        q(s).terms.into_iter().map(|t| (t.negated, t.pred)).collect()
    }

    fn pred(s: &str) -> Pred {
        let mut p = preds(s);
        assert_eq!(p.len(), 1, "{s:?}");
        let (negated, pred) = p.pop().unwrap();
        assert!(!negated, "{s:?}");
        pred
    }

    /// Matches with a content callback that finds nothing.
    fn hit(s: &str, row: &TraceRow) -> bool {
        q(s).matches(row, &mut |_| false)
    }

    fn err(s: &str) -> (Range<usize>, String) {
        let e = Query::parse(s).expect_err(s);
        (e.span, e.message)
    }

    fn text(s: &str) -> Pred {
        Pred::Text(s.into())
    }

    fn str_field(field: StrField, needle: &str, exact: bool) -> Pred {
        Pred::Str {
            field,
            needle: needle.into(),
            exact,
        }
    }

    fn num(field: NumField, op: Op, value: f64) -> Pred {
        Pred::Num { field, op, value }
    }

    fn eval(name: Option<&str>, test: EvalTest) -> Pred {
        Pred::Eval {
            name: name.map(Into::into),
            test,
        }
    }

    #[test]
    fn kept_filters_by_keep_reason_and_lists_the_reasons_on_error() {
        assert_eq!(pred("kept:error"), Pred::Kept(Some(KeepReason::Error)));
        assert_eq!(
            pred("kept=Alert_Example"),
            Pred::Kept(Some(KeepReason::AlertExample))
        );
        assert_eq!(pred("kept:any"), Pred::Kept(None));
        assert!(hit("kept:failed_verdict", &row()));
        assert!(!hit("kept:failed_verdict", &bare()));
        assert!(hit("kept:alert_example kept:error", &bare()));
        assert!(hit("kept:any", &row()) && hit("kept:any", &bare()));
        assert!(hit("-kept:error", &row()));
        assert!(hit("kept!=error", &row()));
        let mut plain = row();
        plain.kept = KeepReasons::NONE;
        assert!(!hit("kept:any", &plain));
        assert!(hit("-kept:any", &plain));
        let (span, message) = err("model:x kept:broken");
        assert_eq!(span, 8..19);
        assert_eq!(
            message,
            "unknown `kept:broken` (use any, alert_example, thumbs_down, failed_verdict, error, \
             cost_outlier, slow, human, review_queue)"
        );
        assert!(
            err("kept>1")
                .1
                .starts_with("use `kept:reason` (any, alert_example")
        );
        assert!(err("nope:1").1.contains(", kept, trace, severity, body)"));
    }

    #[test]
    fn empty_query_matches_everything() {
        for s in ["", "   ", "\t \n"] {
            let query = q(s);
            assert!(query.is_empty());
            assert!(!query.needs_content());
            assert_eq!(query.text(), s);
            let mut asked = false;
            assert!(query.matches(&row(), &mut |_| {
                asked = true;
                false
            }));
            assert!(query.matches(&bare(), &mut |_| false));
            assert!(!asked);
        }
        assert!(Query::default().is_empty());
        assert!(Query::default().matches(&bare(), &mut |_| false));
    }

    #[test]
    fn parses_free_text_lowercased_and_quoted() {
        assert_eq!(pred("Refund"), text("refund"));
        assert_eq!(pred("\"Refund Policy\""), text("refund policy"));
        assert_eq!(pred("gpt-4o"), text("gpt-4o"));
        assert_eq!(pred("\"say \\\"hi\\\" \\\\ \\n\""), text("say \"hi\" \\ \\n"));
        assert_eq!(pred("\"http://x\""), text("http://x"));
        assert_eq!(pred("ÜBER"), text("über"));
        assert_eq!(pred("3>2"), text("3>2"), "a name starts with a letter");
        assert_eq!(pred("<tool>"), text("<tool>"));
        assert!(q("refund").needs_content());
        assert!(!q("model:gpt").needs_content());
    }

    #[test]
    fn parses_string_fields_and_aliases() {
        use StrField::*;
        assert_eq!(pred("model:GPT-4o"), str_field(Model, "gpt-4o", false));
        assert_eq!(pred("models:x"), str_field(Model, "x", false));
        assert_eq!(pred("Model=gpt-4o"), str_field(Model, "gpt-4o", true));
        assert_eq!(pred("provider:openai"), str_field(Provider, "openai", false));
        assert_eq!(
            pred("route:\"/support/refund\""),
            str_field(Route, "/support/refund", false)
        );
        assert_eq!(
            pred("route:/a:b"),
            str_field(Route, "/a:b", false),
            "only the first operator splits"
        );
        assert_eq!(pred("service:api"), str_field(Service, "api", false));
        assert_eq!(pred("tenant:acme"), str_field(Tenant, "acme", false));
        assert_eq!(pred("prompt:v3"), str_field(Prompt, "v3", false));
        assert_eq!(pred("prompt_version:v3"), str_field(Prompt, "v3", false));
        assert_eq!(pred("name:POST"), str_field(Name, "post", false));
        assert_eq!(pred("root:post"), str_field(Name, "post", false));
        assert_eq!(pred("tenant:\"big co\""), str_field(Tenant, "big co", false));
        // `!=` is an inverted exact match.
        assert_eq!(
            preds("model!=gpt-4o"),
            vec![(true, str_field(Model, "gpt-4o", true))]
        );
        assert_eq!(
            preds("-model!=gpt-4o"),
            vec![(false, str_field(Model, "gpt-4o", true))]
        );
    }

    #[test]
    fn parses_status_and_has() {
        assert_eq!(pred("status:error"), Pred::Status { error: true });
        assert_eq!(pred("status:ERR"), Pred::Status { error: true });
        assert_eq!(pred("status=ok"), Pred::Status { error: false });
        assert_eq!(preds("status!=ok"), vec![(true, Pred::Status { error: false })]);
        assert_eq!(pred("has:cost"), Pred::Has(Has::Cost));
        assert_eq!(pred("has:verdicts"), Pred::Has(Has::Verdicts));
        assert_eq!(pred("has:evals"), Pred::Has(Has::Verdicts));
        assert_eq!(pred("has:errors"), Pred::Has(Has::Errors));
        assert_eq!(pred("has:unpriced"), Pred::Has(Has::Unpriced));
        assert_eq!(pred("has:route"), Pred::Has(Has::Route));
        assert_eq!(pred("has:tenant"), Pred::Has(Has::Tenant));
        assert_eq!(pred("has:prompt"), Pred::Has(Has::Prompt));
        assert_eq!(pred("has:model"), Pred::Has(Has::Model));
    }

    #[test]
    fn parses_numbers_operators_and_units() {
        use NumField::*;
        assert_eq!(pred("cost>0.05"), num(Cost, Op::Gt, 0.05));
        assert_eq!(pred("cost>=$1"), num(Cost, Op::Ge, 1.0));
        assert_eq!(pred("cost<.5"), num(Cost, Op::Lt, 0.5));
        assert_eq!(pred("cost<=2"), num(Cost, Op::Le, 2.0));
        assert_eq!(pred("cost=0"), num(Cost, Op::Eq, 0.0));
        assert_eq!(pred("cost:0"), num(Cost, Op::Eq, 0.0));
        assert_eq!(pred("cost!=0"), num(Cost, Op::Ne, 0.0));
        assert_eq!(pred("cost:>0.05"), num(Cost, Op::Gt, 0.05));
        assert_eq!(pred("cost:<=0.05"), num(Cost, Op::Le, 0.05));
        assert_eq!(pred("COST>1"), num(Cost, Op::Gt, 1.0));

        assert_eq!(pred("dur>2s"), num(Duration, Op::Gt, 2e9));
        assert_eq!(pred("duration<150ms"), num(Duration, Op::Lt, 150e6));
        assert_eq!(pred("dur>1.5m"), num(Duration, Op::Gt, 90e9));
        assert_eq!(pred("dur>500us"), num(Duration, Op::Gt, 500e3));
        assert_eq!(pred("dur>500µs"), num(Duration, Op::Gt, 500e3));
        assert_eq!(pred("dur>20ns"), num(Duration, Op::Gt, 20.0));
        assert_eq!(pred("dur>1h"), num(Duration, Op::Gt, 3600e9));
        assert_eq!(pred("dur>2S"), num(Duration, Op::Gt, 2e9));
        assert_eq!(
            pred("dur>250"),
            num(Duration, Op::Gt, 250e6),
            "bare number is milliseconds"
        );
        assert_eq!(pred("latency>1s"), num(Duration, Op::Gt, 1e9));

        assert_eq!(pred("tokens>10k"), num(Tokens, Op::Gt, 10e3));
        assert_eq!(pred("tokens<1.5M"), num(Tokens, Op::Lt, 1.5e6));
        assert_eq!(pred("tokens>=2m"), num(Tokens, Op::Ge, 2e6));
        assert_eq!(pred("tokens>900"), num(Tokens, Op::Gt, 900.0));
        assert_eq!(pred("in>1k"), num(Input, Op::Gt, 1e3));
        assert_eq!(pred("input_tokens>1k"), num(Input, Op::Gt, 1e3));
        assert_eq!(pred("out<5"), num(Output, Op::Lt, 5.0));
        assert_eq!(pred("output_tokens<5"), num(Output, Op::Lt, 5.0));
        assert_eq!(pred("spans>10"), num(Spans, Op::Gt, 10.0));
        assert_eq!(pred("calls>=2"), num(Calls, Op::Ge, 2.0));
        assert_eq!(pred("llm_calls>=2"), num(Calls, Op::Ge, 2.0));
        assert_eq!(pred("errors>0"), num(Errors, Op::Gt, 0.0));
        assert_eq!(pred("error_spans:1"), num(Errors, Op::Eq, 1.0));
    }

    #[test]
    fn parses_eval_terms() {
        let score = |op, x| EvalTest::Score(op, x);
        assert_eq!(
            pred("eval:Faithfulness<0.75"),
            eval(Some("faithfulness"), score(Op::Lt, 0.75))
        );
        assert_eq!(pred("eval:f>=0.5"), eval(Some("f"), score(Op::Ge, 0.5)));
        assert_eq!(pred("eval:f=1"), eval(Some("f"), score(Op::Eq, 1.0)));
        assert_eq!(pred("eval:f:1"), eval(Some("f"), score(Op::Eq, 1.0)));
        assert_eq!(pred("eval:f:>0.9"), eval(Some("f"), score(Op::Gt, 0.9)));
        assert_eq!(pred("eval:f!=0"), eval(Some("f"), score(Op::Ne, 0.0)));
        assert_eq!(
            pred("eval:Faithfulness:fail"),
            eval(Some("faithfulness"), EvalTest::Fail)
        );
        assert_eq!(
            pred("eval:Faithfulness:PASS"),
            eval(Some("faithfulness"), EvalTest::Pass)
        );
        assert_eq!(pred("eval:fail"), eval(None, EvalTest::Fail));
        assert_eq!(pred("eval:pass"), eval(None, EvalTest::Pass));
        assert_eq!(
            pred("eval:\"fail\""),
            eval(Some("fail"), EvalTest::Present),
            "quoted: a name"
        );
        assert_eq!(pred("eval:Toxicity"), eval(Some("toxicity"), EvalTest::Present));
        assert_eq!(
            pred("eval:\"Answer Relevance\"<0.5"),
            eval(Some("answer relevance"), score(Op::Lt, 0.5))
        );
        assert_eq!(pred("eval:\"a:b\":fail"), eval(Some("a:b"), EvalTest::Fail));
        assert_eq!(pred("evals:fail"), eval(None, EvalTest::Fail));
        assert_eq!(
            pred("eval:f=fail"),
            eval(Some("f"), EvalTest::Fail),
            "`=` reads as `:`"
        );
        assert_eq!(pred("eval:f=PASSED"), eval(Some("f"), EvalTest::Pass));
        assert_eq!(pred("eval:f=\"fail\""), eval(Some("f"), EvalTest::Fail));
        assert_eq!(err("eval:f=maybe").1, "bad number `maybe` for `eval:f=`");
    }

    #[test]
    fn quoted_values_read_back_as_themselves() {
        assert_eq!(quote("Groundedness"), "Groundedness");
        assert_eq!(quote("/support/refund"), "/support/refund");
        assert_eq!(quote("gpt-4o"), "gpt-4o");
        assert_eq!(quote("Answer Relevance"), "\"Answer Relevance\"");
        assert_eq!(quote("fail"), "\"fail\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote(r#"a "b" \ c"#), r#""a \"b\" \\ c""#);
        for name in [
            "Answer Relevance",
            "a:b",
            "x<0.5",
            "fail",
            "Pass",
            r#"say "hi" \o/"#,
            "ünïcode name",
        ] {
            let query = q(&format!("eval:{}:fail", quote(name)));
            assert_eq!(
                query.terms[0].pred,
                eval(Some(&name.to_lowercase()), EvalTest::Fail),
                "{name}"
            );
            let query = q(&format!("route={}", quote(name)));
            assert_eq!(
                query.terms[0].pred,
                str_field(StrField::Route, &name.to_lowercase(), true)
            );
        }
    }

    #[test]
    fn failing_verdict_queries_select_the_pair() {
        use CohortFilter::{Is, Missing};
        use CohortKey::{Model, Route, Service, Tenant};
        assert_eq!(failing_verdicts("Groundedness", None), "eval:Groundedness:fail");
        assert_eq!(
            failing_verdicts("Answer Relevance", Some(Is(Route, "/support/refund"))),
            "eval:\"Answer Relevance\":fail route=/support/refund"
        );
        assert_eq!(
            failing_verdicts("f", Some(Is(Model, "gpt 4"))),
            "eval:f:fail model=\"gpt 4\""
        );
        assert_eq!(
            failing_verdicts("f", Some(Missing(Tenant))),
            "eval:f:fail -has:tenant"
        );
        assert_eq!(failing_verdicts("f", Some(Missing(Service))), "eval:f:fail");
        let (r, mut other) = (row(), row());
        other.route = None;
        other.verdicts[0].passed = Some(true);
        let cases = [
            (failing_verdicts("Faithfulness", None), true, false),
            (
                failing_verdicts("faithfulness", Some(Is(Route, "/support/refund"))),
                true,
                false,
            ),
            (
                failing_verdicts("Faithfulness", Some(Is(Route, "/support"))),
                false,
                false,
            ),
            (
                failing_verdicts("Faithfulness", Some(Is(Model, "claude-sonnet-4"))),
                true,
                false,
            ),
            (
                failing_verdicts("Faithfulness", Some(Is(Service, "support-api"))),
                true,
                false,
            ),
            (
                failing_verdicts("Faithfulness", Some(Is(Tenant, "acme"))),
                true,
                false,
            ),
            (failing_verdicts("toxicity", None), false, false),
        ];
        for (text, on_row, on_other) in cases {
            assert_eq!(hit(&text, &r), on_row, "{text}");
            assert_eq!(hit(&text, &other), on_other, "{text}");
        }
        other.verdicts[0].passed = Some(false);
        assert!(hit(
            &failing_verdicts("Faithfulness", Some(Missing(Route))),
            &other
        ));
        assert!(!hit(&failing_verdicts("Faithfulness", Some(Missing(Route))), &r));
    }

    #[test]
    fn negation_and_term_order() {
        let query = q("-status:error refund -\"big co\" -cost>1 model:gpt");
        let got: Vec<_> = query
            .terms
            .iter()
            .map(|t| (t.negated, t.pred.clone(), t.span.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (true, Pred::Status { error: true }, 0..13),
                (true, num(NumField::Cost, Op::Gt, 1.0), 31..38),
                (false, str_field(StrField::Model, "gpt", false), 39..48),
                (false, text("refund"), 14..20),
                (true, text("big co"), 21..30),
            ],
            "row-only terms first, free text last, spans into the source"
        );
        assert_eq!(query.term_spans().next(), Some(0..13));
        assert_eq!(pred("a-b"), text("a-b"));
        assert_eq!(preds("--x"), vec![(true, text("-x"))]);
    }

    #[test]
    fn error_unknown_field() {
        let (span, msg) = err("model:gpt colour:red");
        assert_eq!(span, 10..20);
        assert_eq!(
            msg,
            "unknown field `colour` (fields: model, provider, route, service, tenant, prompt, name, \
             status, has, eval, cost, dur, tokens, in, out, spans, calls, errors, kept, trace, severity, body)"
        );
        assert_eq!(err("-colour>3").0, 0..9);
        assert!(err("http://x").1.starts_with("unknown field `http`"));
    }

    #[test]
    fn error_bad_number_and_unit() {
        assert_eq!(err("cost>abc"), (0..8, "bad number `abc` for `cost`".into()));
        assert_eq!(
            err("x cost>0.05x"),
            (2..12, "bad number `0.05x` for `cost`".into())
        );
        assert_eq!(err("cost>1.2.3"), (0..10, "bad number `1.2.3` for `cost`".into()));
        assert_eq!(err("cost>inf").1, "bad number `inf` for `cost`");
        assert_eq!(err("spans>-"), (0..7, "bad number `-` for `spans`".into()));
        assert_eq!(
            err("dur>2x"),
            (0..6, "unknown unit `x` in `2x` (use ns, us, ms, s, m, h)".into())
        );
        assert_eq!(err("dur>fast"), (0..8, "bad number `fast` for `dur`".into()));
        assert_eq!(
            err("tokens>10q"),
            (0..10, "unknown suffix `q` in `10q` (use k or m)".into())
        );
        assert_eq!(
            err("eval:f<high"),
            (0..11, "bad number `high` for `eval:f<`".into())
        );
        assert_eq!(
            err("eval:f:maybe"),
            (
                0..12,
                "`maybe` is not `pass`, `fail` or a score (`eval:f:…`)".into()
            )
        );
    }

    #[test]
    fn error_missing_value() {
        assert_eq!(err("model:"), (0..6, "missing value after `model:`".into()));
        assert_eq!(err("a cost>"), (2..7, "missing value after `cost>`".into()));
        assert_eq!(err("route:\"\""), (0..8, "missing value after `route:`".into()));
        assert_eq!(err("eval:"), (0..5, "missing value after `eval:`".into()));
        assert_eq!(err("eval:f<"), (0..7, "missing value after `eval:f<`".into()));
        assert_eq!(err("eval:f:"), (0..7, "missing value after `eval:f:`".into()));
        assert_eq!(err("-"), (0..1, "nothing to negate after `-`".into()));
        assert_eq!(err("x \"\""), (2..4, "empty search text".into()));
    }

    #[test]
    fn error_unterminated_quote() {
        assert_eq!(
            err("model:gpt \"refund pol"),
            (10..21, "unterminated quote".into())
        );
        assert_eq!(err("route:\"/a b"), (0..11, "unterminated quote".into()));
        assert_eq!(
            err("\"a\\\""),
            (0..4, "unterminated quote".into()),
            "escaped quote does not close"
        );
    }

    #[test]
    fn error_operator_on_text_field() {
        assert_eq!(
            err("model>3"),
            (
                0..7,
                "`model` is text: use `model:part` or `model=whole` (`>` compares numbers)".into()
            )
        );
        assert_eq!(err("x route<=a").0, 2..10);
        assert_eq!(
            err("status>1").1,
            "`status` is `error` or `ok`: use `status:error` or `status:ok`"
        );
        assert_eq!(err("status:maybe").1, "`status` is `error` or `ok`, not `maybe`");
        assert_eq!(
            err("has:colour").1,
            "unknown `has:colour` (use cost, verdicts, errors, unpriced, route, tenant, prompt, model)"
        );
        assert_eq!(
            err("has>1").1,
            "use `has:what` (cost, verdicts, errors, unpriced, route, tenant, prompt, model)"
        );
        let usage = "use `eval:Name<0.75`, `eval:Name:fail`, `eval:Name:pass`, `eval:Name` or `eval:fail`";
        assert_eq!(err("eval>3"), (0..6, usage.into()));
        assert_eq!(err("eval:<0.5"), (0..9, usage.into()));
    }

    #[test]
    fn errors_display_their_message() {
        let e = Query::parse("cost>abc").unwrap_err();
        assert_eq!(e.to_string(), e.message);
        assert_eq!("cost>abc".parse::<Query>(), Err(e));
    }

    #[test]
    fn matches_string_fields() {
        let (r, b) = (row(), bare());
        assert!(hit("model:gpt-4o", &r), "any model containing it");
        assert!(hit("model:SONNET", &r));
        assert!(!hit("model:gpt-4o", &b));
        assert!(!hit("model=gpt-4o", &r), "exact");
        assert!(hit("model=GPT-4o-mini", &r));
        assert!(hit("model!=gpt-4o", &r));
        assert!(!hit("model!=gpt-4o-mini", &r));
        assert!(hit("provider:anthropic", &r));
        assert!(!hit("provider:anthropic", &b));
        assert!(hit("route:/support", &r));
        assert!(hit("route:\"/support/refund\"", &r));
        assert!(!hit("route:/support", &b), "no route never matches");
        assert!(hit("-route:/support", &b));
        assert!(hit("service:support", &r));
        assert!(hit("service:worker", &b));
        assert!(hit("tenant:acme", &r));
        assert!(hit("prompt:v3", &r));
        assert!(hit("prompt_version:refund-v3", &r));
        assert!(hit("name:post", &r));
        assert!(!hit("name:post", &b));
    }

    #[test]
    fn matches_status_and_has() {
        let (r, b) = (row(), bare());
        assert!(hit("status:ok", &r) && !hit("status:error", &r));
        assert!(hit("status:error", &b) && !hit("status:ok", &b));
        assert!(hit("-status:error", &r) && !hit("-status:error", &b));
        assert!(hit("has:cost", &r) && !hit("has:cost", &b));
        assert!(hit("has:verdicts", &r) && !hit("has:verdicts", &b));
        assert!(hit("has:errors", &b) && !hit("has:errors", &r));
        assert!(hit("has:unpriced", &b) && !hit("has:unpriced", &r));
        assert!(hit("has:route", &r) && !hit("has:route", &b));
        assert!(hit("has:tenant", &r) && !hit("has:tenant", &b));
        assert!(hit("has:prompt", &r) && !hit("has:prompt", &b));
        assert!(hit("has:model", &r) && hit("has:model", &b));
    }

    #[test]
    fn matches_numbers() {
        let (r, b) = (row(), bare());
        assert!(hit("cost>0.05", &r) && !hit("cost>0.08", &r));
        assert!(hit("cost<=0.0712", &r) && hit("cost=0.0712", &r) && hit("cost:0.0712", &r));
        assert!(
            !hit("cost<1", &b) && !hit("cost>=0", &b),
            "no cost never matches a cost comparison"
        );
        assert!(!hit("cost!=0", &b));
        assert!(hit("-cost>1", &b), "negation is logical");
        assert!(hit("dur>2s", &r) && !hit("dur>3s", &r) && hit("dur=2.5s", &r));
        assert!(hit("dur<50", &b) && !hit("dur<40ms", &b) && hit("dur<=40ms", &b));
        assert!(hit("dur<1m", &r) && hit("dur>500us", &b));
        assert!(hit("tokens>10k", &r) && !hit("tokens>12.5k", &r) && hit("tokens>=12.5k", &r));
        assert!(hit("tokens<1m", &r));
        assert!(hit("in=8k", &r) && hit("out>4k", &r) && hit("out=0", &b));
        assert!(hit("spans>10", &r) && hit("spans<3", &b));
        assert!(hit("calls=3", &r) && hit("calls:1", &b));
        assert!(hit("errors=0", &r) && hit("errors>0", &b));
    }

    #[test]
    fn matches_eval_terms() {
        let (r, b) = (row(), bare());
        assert!(hit("eval:faithfulness<0.75", &r));
        assert!(hit("eval:FAITHFULNESS<=0.62", &r));
        assert!(!hit("eval:faithfulness>0.75", &r));
        assert!(!hit("eval:faith<0.75", &r), "names match exactly");
        assert!(
            !hit("eval:toxicity<1", &r),
            "no score never matches a score comparison"
        );
        assert!(!hit("eval:toxicity>=0", &r));
        assert!(hit("eval:faithfulness:fail", &r) && !hit("eval:faithfulness:pass", &r));
        assert!(hit("eval:toxicity:pass", &r) && !hit("eval:toxicity:fail", &r));
        assert!(hit("eval:fail", &r) && hit("eval:pass", &r));
        assert!(!hit("eval:fail", &b) && hit("-eval:fail", &b));
        assert!(hit("eval:toxicity", &r) && !hit("eval:coherence", &r) && !hit("eval:toxicity", &b));
        let mut passing = row();
        passing.verdicts.retain(|v| v.passed == Some(true));
        assert!(!hit("eval:fail", &passing));
    }

    #[test]
    fn matches_free_text_over_names() {
        let (r, b) = (row(), bare());
        for needle in [
            "post /support",   // root name (quoted below)
            "support-api",     // service
            "/support/refund", // route
            "acme",            // tenant, case-insensitive
            "refund-v3",       // prompt version
            "4o-mini",         // model
            "anthropic",       // provider
            "chat claude",     // costliest span
            "faithful",        // verdict name
        ] {
            assert!(hit(&format!("\"{}\"", needle.to_uppercase()), &r), "{needle}");
        }
        assert!(!hit("refund", &b));
        assert!(hit("-refund", &b));
        assert!(!hit("-refund", &r));
        assert!(
            hit("refund acme", &r) && !hit("refund nobody", &r),
            "terms are ANDed"
        );
    }

    #[test]
    fn content_is_asked_only_for_free_text_the_names_miss() {
        let r = row();
        let mut asked = Vec::new();
        let mut content = |needle: &str| {
            asked.push(needle.to_owned());
            needle == "wire transfer"
        };
        assert!(q("refund").matches(&r, &mut content));
        assert!(q("\"Wire Transfer\" model:gpt").matches(&r, &mut content));
        assert!(!q("Bitcoin").matches(&r, &mut content));
        assert!(
            !q("model:llama \"wire transfer\"").matches(&r, &mut content),
            "row terms fail first"
        );
        assert!(q("-bitcoin").matches(&r, &mut content));
        assert!(!q("-\"WIRE transfer\"").matches(&r, &mut content));
        assert_eq!(asked, ["wire transfer", "bitcoin", "bitcoin", "wire transfer"]);
    }

    #[test]
    fn case_insensitive_helpers() {
        assert!(contains_ci("Hello World", "lo wo"));
        assert!(contains_ci("abc", ""));
        assert!(!contains_ci("ab", "abc"));
        assert!(
            contains_ci("Zürich-Nord", "nord"),
            "ASCII needle, non-ASCII haystack"
        );
        assert!(contains_ci("ZÜRICH", "zür"), "non-ASCII needle");
        assert!(!contains_ci("zurich", "zür"));
        assert!(eq_ci("GPT-4o", "gpt-4o") && !eq_ci("gpt-4o-mini", "gpt-4o"));
        assert!(eq_ci("ÜBER", "über"));
        let mut r = bare();
        r.tenant = Some(sym("Société Générale"));
        assert!(hit("tenant:générale", &r) && hit("GÉNÉRALE", &r) && hit("tenant=\"société générale\"", &r));
    }

    #[test]
    fn trace_prefix_matches_rows_and_records_and_wants_eight_hex_digits() {
        let mut r = row();
        r.id = crate::model::TraceId([
            0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0, 0, 0, 0, 0, 0, 0, 1,
        ]);
        assert!(hit("trace:0af76519", &r));
        assert!(hit("trace:0AF7651916CD43DD", &r));
        assert!(!hit("trace:0af76518", &r));
        assert!(hit("-trace:0af76518", &r));
        assert_eq!(q("trace:0af76519").trace_prefix(), Some("0af76519"));
        assert_eq!(q("model:gpt").trace_prefix(), None);
        assert!(err("trace:0af7").1.contains("8 to 32 hex digits"));
        assert!(err("trace:0af7651x").1.contains("hex digits"));
        let rec = Record {
            trace_id: Some(&r.id),
            ..Record::default()
        };
        assert!(q("trace:0af76519").matches_record(&rec));
        assert!(!q("trace:0af76519").matches_record(&Record::default()));
    }

    #[test]
    fn log_fields_match_records_not_trace_rows() {
        let attrs = vec![("http.route".to_string(), "/chat".to_string())];
        let rec = Record {
            service: "api",
            severity_number: 17,
            severity_text: "ERROR",
            body: "upstream timed out",
            attrs: &attrs,
            ..Record::default()
        };
        assert!(q("severity:error").matches_record(&rec));
        assert!(q("severity>=warn").matches_record(&rec));
        assert!(!q("severity:info").matches_record(&rec));
        assert!(q("body:timed service:api").matches_record(&rec));
        assert!(q("/chat").matches_record(&rec));
        assert!(q("status:error").matches_record(&rec));
        assert!(!q("cost>0").matches_record(&rec));
        // Only a severity text: judged by it.
        let text_only = Record {
            severity_text: "warn",
            ..Record::default()
        };
        assert!(q("severity:warn").matches_record(&text_only));
        assert!(!hit("severity:error", &row()));
        assert!(err("severity:loud").1.contains("level"));
    }
}
