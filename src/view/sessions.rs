//! Traces grouped into sessions (issue 18, view `2`): one [`Session`] per session or
//! conversation id with its totals, and the sessions that hold a trace passing the filter in
//! the chosen order. Kept by the trace index (the list's owner) as its rows come and go (every
//! row's link and unlink pass through here), so the sessions list costs nothing per frame and
//! holds only sessions of traces the store still holds.

use super::row::TraceRow;
use crate::intern::Sym;
use crate::model::TraceId;
use foldhash::HashMap;
use std::collections::BTreeSet;

/// What the sessions list is ordered by (largest first; `s` / `S` step through).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SessionSort {
    /// The newest turn first.
    #[default]
    Last,
    Turns,
    Cost,
    Tokens,
    Failed,
    Errors,
}

impl SessionSort {
    pub const ALL: [SessionSort; 6] = [
        Self::Last,
        Self::Turns,
        Self::Cost,
        Self::Tokens,
        Self::Failed,
        Self::Errors,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Last => "last turn",
            Self::Turns => "turns",
            Self::Cost => "cost",
            Self::Tokens => "tokens",
            Self::Failed => "failed evals",
            Self::Errors => "errors",
        }
    }

    /// The next order (`forward`) or the previous one.
    pub fn step(self, forward: bool) -> SessionSort {
        let n = Self::ALL.len();
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL[if forward { (i + 1) % n } else { (i + n - 1) % n }]
    }

    fn key(self, s: &Session) -> u64 {
        match self {
            Self::Last => s.last_start(),
            Self::Turns => s.turns.len() as u64,
            Self::Cost => s.cost_units,
            Self::Tokens => s.tokens,
            Self::Failed => s.failed,
            Self::Errors => s.errors,
        }
    }
}

/// One session: its turns (traces, oldest first) and totals over all of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub id: Sym,
    /// The first user seen on one of its traces.
    pub user: Option<Sym>,
    /// (start, arrival, id) of each held trace: the turns in time order.
    pub turns: BTreeSet<(u64, u64, TraceId)>,
    /// Cost in [`super::series::COST_UNITS`] per dollar (integers add and subtract exactly).
    pub cost_units: u64,
    /// Whether any turn is priced.
    pub priced: u32,
    pub tokens: u64,
    /// Failed verdicts over its turns.
    pub failed: u64,
    /// Turns with an error span.
    pub errors: u64,
    /// Turns passing the filter: listed when any does.
    matched: u32,
    /// Its key in the listed order, while listed.
    listed: Option<(u64, Sym)>,
}

impl Session {
    fn new(id: Sym) -> Self {
        Session {
            id,
            user: None,
            turns: BTreeSet::new(),
            cost_units: 0,
            priced: 0,
            tokens: 0,
            failed: 0,
            errors: 0,
            matched: 0,
            listed: None,
        }
    }

    pub fn first_start(&self) -> u64 {
        self.turns.first().map_or(0, |t| t.0)
    }

    pub fn last_start(&self) -> u64 {
        self.turns.last().map_or(0, |t| t.0)
    }

    pub fn cost_usd(&self) -> Option<f64> {
        (self.priced > 0).then(|| self.cost_units as f64 / super::series::COST_UNITS)
    }

    /// The turns' trace ids, oldest first.
    pub fn trace_ids(&self) -> impl DoubleEndedIterator<Item = TraceId> + '_ {
        self.turns.iter().map(|t| t.2)
    }
}

/// Every session of the held traces, and the listed ones in order.
#[derive(Debug, Default)]
pub struct SessionIndex {
    sessions: HashMap<Sym, Session>,
    /// (sort key, session id) of the sessions with a matching turn.
    listed: BTreeSet<(u64, Sym)>,
    sort: SessionSort,
}

impl SessionIndex {
    /// Adds a row's trace to its session (`matched`: it passes the filter).
    pub fn insert(&mut self, row: &TraceRow, matched: bool) {
        let Some(id) = &row.session else { return };
        let s = self
            .sessions
            .entry(id.clone())
            .or_insert_with(|| Session::new(id.clone()));
        s.turns.insert((row.start_unix_nano, row.seq, row.id));
        if s.user.is_none() {
            s.user.clone_from(&row.user);
        }
        if let Some(c) = super::series::cost_units(row.cost_usd) {
            s.cost_units = s.cost_units.saturating_add(c);
            s.priced += 1;
        }
        s.tokens = s.tokens.saturating_add(row.tokens());
        s.failed += row.failed_verdicts() as u64;
        s.errors += u64::from(row.is_error());
        s.matched += u32::from(matched);
        Self::relist(&mut self.listed, self.sort, s);
    }

    /// Takes a row's trace (as it was inserted) out of its session; an empty session goes.
    pub fn remove(&mut self, row: &TraceRow, matched: bool) {
        let Some(id) = &row.session else { return };
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        s.turns.remove(&(row.start_unix_nano, row.seq, row.id));
        if let Some(c) = super::series::cost_units(row.cost_usd) {
            s.cost_units = s.cost_units.saturating_sub(c);
            s.priced = s.priced.saturating_sub(1);
        }
        s.tokens = s.tokens.saturating_sub(row.tokens());
        s.failed = s.failed.saturating_sub(row.failed_verdicts() as u64);
        s.errors = s.errors.saturating_sub(u64::from(row.is_error()));
        s.matched = s.matched.saturating_sub(u32::from(matched));
        if s.turns.is_empty() {
            if let Some(k) = s.listed.take() {
                self.listed.remove(&k);
            }
            self.sessions.remove(id);
        } else {
            Self::relist(&mut self.listed, self.sort, s);
        }
    }

    /// Puts the session at its place in the list, or off it when no turn matches.
    fn relist(listed: &mut BTreeSet<(u64, Sym)>, sort: SessionSort, s: &mut Session) {
        if let Some(k) = s.listed.take() {
            listed.remove(&k);
        }
        if s.matched > 0 {
            let k = (sort.key(s), s.id.clone());
            listed.insert(k.clone());
            s.listed = Some(k);
        }
    }

    pub fn clear(&mut self) {
        self.sessions.clear();
        self.listed.clear();
    }

    pub fn sort(&self) -> SessionSort {
        self.sort
    }

    /// Orders the list by `sort` (O(sessions), on a key press).
    pub fn set_sort(&mut self, sort: SessionSort) {
        self.sort = sort;
        self.listed.clear();
        for s in self.sessions.values_mut() {
            s.listed = None;
            Self::relist(&mut self.listed, sort, s);
        }
    }

    /// Sessions with a turn passing the filter.
    pub fn len(&self) -> usize {
        self.listed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// Sessions held in all.
    pub fn total(&self) -> usize {
        self.sessions.len()
    }

    pub fn get(&self, id: &str) -> Option<&Session> {
        self.sessions.get(id)
    }

    /// Listed sessions in order (largest key first) from `start`.
    pub fn page(&self, start: usize, n: usize) -> impl Iterator<Item = &Session> {
        self.listed
            .iter()
            .rev()
            .skip(start)
            .take(n)
            .filter_map(|(_, id)| self.sessions.get(id))
    }

    /// List position of a session; O(position).
    pub fn position(&self, id: &str) -> Option<usize> {
        let k = self.sessions.get(id)?.listed.as_ref()?;
        Some(self.listed.range(k..).count() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u8, session: Option<&str>, start: u64, cost: Option<f64>, failed: bool) -> TraceRow {
        TraceRow {
            id: TraceId([n; 16]),
            seq: u64::from(n),
            start_unix_nano: start,
            duration_nanos: 1,
            root_name: None,
            service: Sym::from("svc"),
            route: None,
            tenant: None,
            prompt_version: None,
            session: session.map(Sym::from),
            user: Some(Sym::from(format!("u{n}"))),
            models: Vec::new(),
            providers: Vec::new(),
            spans: 1,
            llm_calls: 1,
            error_spans: u32::from(failed),
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: cost,
            unpriced_calls: 0,
            costliest_span: None,
            primary_model: None,
            verdicts: if failed {
                vec![super::super::row::VerdictMark {
                    name: Sym::from("Groundedness"),
                    score: Some(0.1),
                    passed: Some(false),
                }]
            } else {
                Vec::new()
            },
            kept: Default::default(),
            reviewed: false,
            worst: None,
        }
    }

    #[test]
    fn traces_group_by_session_and_sessions_leave_with_their_last_trace() {
        let mut ix = SessionIndex::default();
        let a1 = row(1, Some("a"), 100, Some(0.01), false);
        let a2 = row(2, Some("a"), 300, Some(0.02), true);
        let b1 = row(3, Some("b"), 200, None, false);
        let none = row(4, None, 400, Some(1.0), false);
        for r in [&a1, &a2, &b1, &none] {
            ix.insert(r, true);
        }
        assert_eq!(
            (ix.len(), ix.total()),
            (2, 2),
            "a trace without a session is in none"
        );
        let ids: Vec<&str> = ix.page(0, 10).map(|s| &*s.id).collect();
        assert_eq!(ids, ["a", "b"], "newest last turn first");
        let a = ix.get("a").unwrap();
        assert_eq!(a.turns.len(), 2);
        assert_eq!((a.first_start(), a.last_start()), (100, 300));
        assert!((a.cost_usd().unwrap() - 0.03).abs() < 1e-9);
        assert_eq!((a.tokens, a.failed, a.errors), (30, 1, 1));
        assert_eq!(a.user.as_deref(), Some("u1"));
        assert_eq!(ix.get("b").unwrap().cost_usd(), None, "unpriced is not free");

        ix.set_sort(SessionSort::Turns);
        assert_eq!(ix.position("a"), Some(0));
        ix.set_sort(SessionSort::Last);

        // Evicted: the turn leaves its session, the totals follow, and the session order too.
        ix.remove(&a2, true);
        let a = ix.get("a").unwrap();
        assert_eq!((a.turns.len(), a.failed, a.tokens), (1, 0, 15));
        assert_eq!(ix.position("b"), Some(0));
        ix.remove(&a1, true);
        assert!(ix.get("a").is_none());
        assert_eq!(ix.len(), 1);
    }

    #[test]
    fn only_sessions_with_a_matching_turn_are_listed() {
        let mut ix = SessionIndex::default();
        let a1 = row(1, Some("a"), 100, None, false);
        let b1 = row(2, Some("b"), 200, None, false);
        ix.insert(&a1, false);
        ix.insert(&b1, true);
        assert_eq!((ix.len(), ix.total()), (1, 2));
        assert_eq!(ix.position("a"), None);
        // The filter now matches a's turn.
        ix.remove(&a1, false);
        ix.insert(&a1, true);
        assert_eq!(ix.position("a"), Some(1));
    }
}
