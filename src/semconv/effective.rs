//! Which verdicts decide pass/fail for a span: a person's verdict wins over the automatic ones
//! (the app's, built-in, external) given to the same span under the same evaluator name
//! (case-insensitive), and a later human verdict replaces an earlier one (a re-review). Every
//! count that decides pass/fail (summary fail counts, the evals pane, alert metrics, the trace
//! list) reads [`effective`], so they never disagree about an overridden judge.

use super::types::Verdict;

/// Whether two verdicts judge the same thing: the same target span (or, without one, the same
/// response id) under the same evaluator name, ignoring ASCII case.
pub fn same_subject(a: &Verdict, b: &Verdict) -> bool {
    a.name.eq_ignore_ascii_case(&b.name)
        && a.target == b.target
        && (a.target.is_some() || (a.response_id.is_some() && a.response_id == b.response_id))
}

/// A human verdict that says pass or fail: only those override (a note alone does not).
fn decides(v: &Verdict) -> bool {
    v.is_human() && v.passed.is_some()
}

/// The latest deciding human verdict of each subject in a list of verdicts: what sets the others
/// aside. Built once per list (hashing each subject without allocating), so deciding what
/// counts stays linear however many verdicts or reviews a trace holds.
pub struct Overrides<'a> {
    all: &'a [Verdict],
    /// Subject hash → indices of the latest decider of each subject with that hash.
    latest: std::collections::HashMap<u64, Vec<usize>>,
}

fn subject_hash(v: &Verdict) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    v.target.hash(&mut h);
    if v.target.is_none() {
        v.response_id.hash(&mut h);
    }
    for b in v.name.bytes() {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.finish()
}

impl<'a> Overrides<'a> {
    /// `None` when no person decided anything (the common case: one pass, no allocation).
    pub fn of(all: &'a [Verdict]) -> Option<Self> {
        if !all.iter().any(decides) {
            return None;
        }
        let mut latest: std::collections::HashMap<u64, Vec<usize>> = Default::default();
        for (j, v) in all.iter().enumerate().filter(|(_, v)| decides(v)) {
            let bucket = latest.entry(subject_hash(v)).or_default();
            match bucket.iter_mut().find(|k| same_subject(&all[**k], v)) {
                Some(k) => *k = j,
                None => bucket.push(j),
            }
        }
        Some(Self { all, latest })
    }

    fn latest_for(&self, v: &Verdict) -> Option<usize> {
        self.latest
            .get(&subject_hash(v))?
            .iter()
            .copied()
            .find(|&j| same_subject(&self.all[j], v))
    }

    /// Whether `all[i]` is set aside: an automatic verdict with a deciding human verdict on the
    /// same subject, or a deciding human verdict replaced by a later one.
    pub fn is_overridden(&self, i: usize) -> bool {
        let v = &self.all[i];
        match self.latest_for(v) {
            None => false,
            Some(j) if v.is_human() => v.passed.is_some() && j != i,
            Some(_) => true,
        }
    }
}

/// Whether `all[i]` is set aside (see [`Overrides::is_overridden`]); for many questions about
/// one list, build [`Overrides`] once.
pub fn is_overridden(all: &[Verdict], i: usize) -> bool {
    Overrides::of(all).is_some_and(|o| o.is_overridden(i))
}

/// The verdicts that count, in their order: all of them when no person judged anything.
pub fn effective(all: &[Verdict]) -> impl Iterator<Item = &Verdict> {
    let o = Overrides::of(all);
    all.iter()
        .enumerate()
        .filter(move |&(i, _)| o.as_ref().is_none_or(|o| !o.is_overridden(i)))
        .map(|(_, v)| v)
}

/// A person's verdict set against the automatic ones on the same subject.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The automatic evaluator's name (the summary row it is counted in).
    pub name: crate::intern::Sym,
    /// Any automatic verdict on the subject failed.
    pub auto_failed: bool,
    pub human_passed: bool,
}

impl Comparison {
    pub fn agreed(&self) -> bool {
        self.auto_failed != self.human_passed
    }

    /// The judge failed it, a person passed it (a false alarm).
    pub fn overridden_pass(&self) -> bool {
        self.auto_failed && self.human_passed
    }

    /// The judge passed it, a person failed it (a miss).
    pub fn overridden_fail(&self) -> bool {
        !self.auto_failed && !self.human_passed
    }
}

/// How the subject of `subject` stands in `all`: the effective human verdict against the
/// automatic ones that say pass or fail; `None` unless both exist.
pub fn comparison(all: &[Verdict], subject: &Verdict) -> Option<Comparison> {
    let human = all
        .iter()
        .rev()
        .find(|o| decides(o) && same_subject(o, subject))?;
    let mut autos = all
        .iter()
        .filter(|o| !o.is_human() && o.passed.is_some() && same_subject(o, subject))
        .peekable();
    let name = autos.peek()?.name.clone();
    let auto_failed = autos.any(|o| o.passed == Some(false));
    Some(Comparison {
        name,
        auto_failed,
        human_passed: human.passed == Some(true),
    })
}

/// The overridden verdicts of the subject of `subject`, as (name, failed).
pub fn overridden_of(all: &[Verdict], subject: &Verdict) -> Vec<(crate::intern::Sym, bool)> {
    let Some(o) = Overrides::of(all) else {
        return Vec::new();
    };
    (0..all.len())
        .filter(|&i| same_subject(&all[i], subject) && o.is_overridden(i))
        .map(|i| (all[i].name.clone(), all[i].passed == Some(false)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SpanId, TraceId};
    use crate::semconv::VerdictSource;
    use std::sync::Arc;

    fn v(span: u8, name: &str, passed: bool, source: VerdictSource) -> Verdict {
        Verdict {
            trace_id: Some(TraceId([1; 16])),
            target: Some(SpanId([span; 8])),
            response_id: None,
            name: Arc::from(name),
            score: None,
            label: None,
            explanation: None,
            passed: Some(passed),
            source,
            time_unix_nano: 0,
            reviewer: None,
        }
    }

    use VerdictSource::{Human, SpanEvent};

    fn names(all: &[Verdict]) -> Vec<(u8, String, bool, bool)> {
        effective(all)
            .map(|v| {
                let t = v.target.map_or(0, |s| s.0[0]);
                (t, v.name.to_string(), v.passed == Some(true), v.is_human())
            })
            .collect()
    }

    #[test]
    fn a_person_passing_overrides_a_failing_judge() {
        let all = [
            v(2, "Groundedness", false, SpanEvent),
            v(2, "groundedness", true, Human),
            v(3, "Groundedness", false, SpanEvent),
        ];
        assert_eq!(
            names(&all),
            [
                (2, "groundedness".into(), true, true),
                (3, "Groundedness".into(), false, false)
            ]
        );
        let c = comparison(&all, &all[0]).unwrap();
        assert_eq!(&*c.name, "Groundedness");
        assert!(c.overridden_pass() && !c.agreed() && !c.overridden_fail());
        assert_eq!(comparison(&all, &all[2]), None);
        assert_eq!(overridden_of(&all, &all[1]), [(Arc::from("Groundedness"), true)]);
    }

    #[test]
    fn a_person_failing_overrides_a_passing_judge_whatever_the_order() {
        let all = [v(2, "QA", false, Human), v(2, "QA", true, SpanEvent)];
        assert_eq!(names(&all), [(2, "QA".into(), false, true)]);
        let c = comparison(&all, &all[1]).unwrap();
        assert!(c.overridden_fail() && !c.agreed());
    }

    #[test]
    fn agreement_and_re_reviews() {
        let all = [
            v(2, "QA", true, SpanEvent),
            v(2, "QA", false, Human),
            v(2, "QA", true, Human),
        ];
        // The later review wins.
        assert_eq!(names(&all), [(2, "QA".into(), true, true)]);
        assert!(comparison(&all, &all[0]).unwrap().agreed());
    }

    #[test]
    fn a_note_without_pass_or_fail_overrides_nothing_and_stays() {
        let mut note = v(2, "QA", true, Human);
        note.passed = None;
        let all = [v(2, "QA", false, SpanEvent), note, v(2, "QA", true, Human)];
        // The judge is overridden by the deciding review; the note stays listed.
        assert_eq!(effective(&all).count(), 2);
        assert!(is_overridden(&all, 0) && !is_overridden(&all, 1) && !is_overridden(&all, 2));
    }

    #[test]
    fn many_subjects_stay_linear_and_exact() {
        let mut all: Vec<Verdict> = (0..200u8).map(|s| v(s, "QA", false, SpanEvent)).collect();
        all.extend((0..200u8).step_by(2).map(|s| v(s, "qa", true, Human)));
        let o = Overrides::of(&all).unwrap();
        assert_eq!((0..200).filter(|&i| o.is_overridden(i)).count(), 100);
        assert_eq!(effective(&all).count(), 200);
    }

    #[test]
    fn other_names_and_spans_are_untouched() {
        let all = [
            v(2, "QA", false, SpanEvent),
            v(2, "Toxicity", false, SpanEvent),
            v(4, "QA", true, Human),
        ];
        assert_eq!(names(&all).len(), 3);
        assert_eq!(comparison(&all, &all[0]), None);
    }
}
