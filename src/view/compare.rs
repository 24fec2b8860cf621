//! Two traces side by side (issue 18, `=`): their span trees aligned by (depth, kind, name)
//! over the depth-first order, so the same step of two runs sits on one row and a step only
//! one run took shows as missing on the other. The alignment is a longest common subsequence,
//! which also matches repeated siblings (three tool calls against two) in order. Computed once
//! per pair of trace versions, never per frame.

use crate::intern::Sym;
use crate::model::{SpanRecord, StatusCode};
use crate::semconv::Kind;
use crate::store::Trace;

/// Above this many cells (left × right spans after the common ends are cut) the alignment
/// pairs the n-th occurrence of each step on both sides instead of running the quadratic LCS.
pub const LCS_CELLS: usize = 4_000_000;

/// A relative difference in duration that counts as slower or faster.
pub const SLOWER_RATIO: f64 = 0.2;
/// ... and an absolute one, so 1 ms against 2 ms is not news.
pub const SLOWER_MIN_NANOS: u64 = 5_000_000;

/// One span's figures as the comparison shows them.
#[derive(Clone, Debug, PartialEq)]
pub struct Side {
    pub duration_nanos: u64,
    pub tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    /// `Some(false)` when a verdict on the span failed, `Some(true)` when all passed.
    pub passed: Option<bool>,
    pub error: bool,
}

/// How the right side differs from the left on one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Difference {
    Same,
    Slower,
    Faster,
    /// One side passed its verdicts and the other failed them.
    VerdictFlipped,
    OnlyLeft,
    OnlyRight,
}

/// One aligned row: a step and its figures on each side.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub depth: usize,
    pub kind: Kind,
    pub name: Sym,
    pub left: Option<Side>,
    pub right: Option<Side>,
    pub difference: Difference,
}

/// (depth, kind, name) of each span in depth-first order, and the span.
fn steps(trace: &Trace) -> Vec<((usize, Kind, Sym), &SpanRecord)> {
    crate::store::tree::build(&trace.spans)
        .into_iter()
        .map(|n| {
            let s = &trace.spans[n.index];
            let kind = s.sem.as_deref().map_or(Kind::Other, |m| m.kind);
            ((n.depth, kind, s.name.clone()), s)
        })
        .collect()
}

fn side(trace: &Trace, s: &SpanRecord) -> Side {
    let sem = s.sem.as_deref();
    let mut passed = None;
    for v in trace.verdicts_for(s) {
        match v.passed {
            Some(false) => passed = Some(false),
            Some(true) if passed.is_none() => passed = Some(true),
            _ => {}
        }
    }
    Side {
        duration_nanos: s.duration_nanos(),
        tokens: sem
            .and_then(|m| m.usage)
            .map(|u| u.input.saturating_add(u.output)),
        cost_usd: sem.and_then(|m| m.cost_usd),
        passed,
        error: s.status == StatusCode::Error,
    }
}

fn difference(l: &Side, r: &Side) -> Difference {
    if let (Some(a), Some(b)) = (l.passed, r.passed)
        && a != b
    {
        return Difference::VerdictFlipped;
    }
    let (a, b) = (l.duration_nanos, r.duration_nanos);
    let apart = a.abs_diff(b);
    if apart >= SLOWER_MIN_NANOS && apart as f64 >= SLOWER_RATIO * a.min(b).max(1) as f64 {
        return if b > a {
            Difference::Slower
        } else {
            Difference::Faster
        };
    }
    Difference::Same
}

/// Pairs of positions (left, right) of one alignment of `a` and `b`, in order.
pub fn align<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(Option<usize>, Option<usize>)> {
    // Common ends cost nothing and keep the quadratic part small for two runs of one agent.
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut out: Vec<(Option<usize>, Option<usize>)> = (0..head).map(|i| (Some(i), Some(i))).collect();
    let middle = if ma.len().saturating_mul(mb.len()) <= LCS_CELLS {
        lcs(ma, mb)
    } else {
        by_occurrence(ma, mb)
    };
    out.extend(
        middle
            .into_iter()
            .map(|(x, y)| (x.map(|x| x + head), y.map(|y| y + head))),
    );
    out.extend((0..tail).map(|k| (Some(a.len() - tail + k), Some(b.len() - tail + k))));
    out
}

/// The classic dynamic programme; a step missing on one side is listed where it falls.
fn lcs<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(Option<usize>, Option<usize>)> {
    let (n, m) = (a.len(), b.len());
    // len[i][j]: LCS length of a[i..] and b[j..], one row of m+1 per i.
    let w = m + 1;
    let mut len = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            len[i * w + j] = if a[i] == b[j] {
                len[(i + 1) * w + j + 1] + 1
            } else {
                len[(i + 1) * w + j].max(len[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(n.max(m));
    while i < n && j < m {
        if a[i] == b[j] {
            out.push((Some(i), Some(j)));
            i += 1;
            j += 1;
        } else if len[(i + 1) * w + j] >= len[i * w + j + 1] {
            out.push((Some(i), None));
            i += 1;
        } else {
            out.push((None, Some(j)));
            j += 1;
        }
    }
    out.extend((i..n).map(|i| (Some(i), None)));
    out.extend((j..m).map(|j| (None, Some(j))));
    out
}

/// For huge traces: the k-th occurrence of a step on the left pairs with its k-th occurrence
/// on the right; right-only steps follow the left one they come after. Linear-ish.
fn by_occurrence<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(Option<usize>, Option<usize>)> {
    // Positions in `b` of each distinct value, in order, found by linear search over the
    // distinct values seen so far (steps repeat a lot; distinct values are few).
    let mut distinct: Vec<(&T, Vec<usize>, usize)> = Vec::new();
    for (j, y) in b.iter().enumerate() {
        match distinct.iter_mut().find(|(v, _, _)| *v == y) {
            Some(d) => d.1.push(j),
            None => distinct.push((y, vec![j], 0)),
        }
    }
    let mut taken = vec![false; b.len()];
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let mut next_right = 0;
    for (i, x) in a.iter().enumerate() {
        let j = distinct.iter_mut().find(|(v, _, _)| *v == x).and_then(|d| {
            let j = d.1.get(d.2).copied();
            d.2 += 1;
            j
        });
        match j {
            Some(j) => {
                // Right-only steps before this one come first.
                while next_right < j {
                    if !taken[next_right] {
                        out.push((None, Some(next_right)));
                        taken[next_right] = true;
                    }
                    next_right += 1;
                }
                taken[j] = true;
                out.push((Some(i), Some(j)));
            }
            None => out.push((Some(i), None)),
        }
    }
    out.extend((0..b.len()).filter(|&j| !taken[j]).map(|j| (None, Some(j))));
    out
}

/// The aligned rows of two traces.
pub fn compare(left: &Trace, right: &Trace) -> Vec<Row> {
    let (l, r) = (steps(left), steps(right));
    let lk: Vec<&(usize, Kind, Sym)> = l.iter().map(|(k, _)| k).collect();
    let rk: Vec<&(usize, Kind, Sym)> = r.iter().map(|(k, _)| k).collect();
    align(&lk, &rk)
        .into_iter()
        .filter_map(|(i, j)| {
            let a = i.map(|i| (&l[i].0, side(left, l[i].1)));
            let b = j.map(|j| (&r[j].0, side(right, r[j].1)));
            let (depth, kind, name) = a.as_ref().or(b.as_ref()).map(|(k, _)| (*k).clone())?;
            let difference = match (&a, &b) {
                (Some((_, x)), Some((_, y))) => difference(x, y),
                (Some(_), None) => Difference::OnlyLeft,
                _ => Difference::OnlyRight,
            };
            Some(Row {
                depth,
                kind,
                name,
                left: a.map(|(_, s)| s),
                right: b.map(|(_, s)| s),
                difference,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(a: &str, b: &str) -> Vec<(Option<usize>, Option<usize>)> {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        align(&a, &b)
    }

    #[test]
    fn an_extra_step_on_one_side_shows_as_missing_on_the_other() {
        // root, llm, tool, llm  against  root, llm, tool, tool, llm
        let p = pairs("RLTL", "RLTTL");
        assert_eq!(
            p,
            vec![
                (Some(0), Some(0)),
                (Some(1), Some(1)),
                (Some(2), Some(2)),
                (None, Some(3)),
                (Some(3), Some(4)),
            ]
        );
    }

    #[test]
    fn repeated_siblings_match_in_order_and_every_step_is_listed_once() {
        let a = "RaTbTcL";
        let b = "RTTxL";
        let p = pairs(a, b);
        let left: Vec<usize> = p.iter().filter_map(|x| x.0).collect();
        let right: Vec<usize> = p.iter().filter_map(|x| x.1).collect();
        assert_eq!(left, (0..a.len()).collect::<Vec<_>>());
        assert_eq!(right, (0..b.len()).collect::<Vec<_>>());
        let matched: Vec<(usize, usize)> = p.iter().filter_map(|x| Some((x.0?, x.1?))).collect();
        assert_eq!(matched, vec![(0, 0), (2, 1), (4, 2), (6, 4)]);
    }

    #[test]
    fn the_fallback_for_huge_traces_pairs_occurrences_in_order() {
        let a: Vec<u8> = b"RTTLL".to_vec();
        let b: Vec<u8> = b"RTLXL".to_vec();
        let p = by_occurrence(&a, &b);
        let matched: Vec<(usize, usize)> = p.iter().filter_map(|x| Some((x.0?, x.1?))).collect();
        assert_eq!(matched, vec![(0, 0), (1, 1), (3, 2), (4, 4)]);
        assert_eq!(p.iter().filter(|x| x.1.is_some()).count(), b.len());
        assert_eq!(p.iter().filter(|x| x.0.is_some()).count(), a.len());
    }

    #[test]
    fn differences_need_both_a_relative_and_an_absolute_gap() {
        let s = |ms: u64, passed: Option<bool>| Side {
            duration_nanos: ms * 1_000_000,
            tokens: None,
            cost_usd: None,
            passed,
            error: false,
        };
        assert_eq!(difference(&s(100, None), &s(130, None)), Difference::Slower);
        assert_eq!(difference(&s(130, None), &s(100, None)), Difference::Faster);
        assert_eq!(difference(&s(100, None), &s(110, None)), Difference::Same);
        assert_eq!(
            difference(&s(1, None), &s(3, None)),
            Difference::Same,
            "2 ms apart"
        );
        assert_eq!(
            difference(&s(100, Some(true)), &s(100, Some(false))),
            Difference::VerdictFlipped
        );
    }
}
