//! The span tree of one trace as the drill-down shows it: every span once, in depth-first order
//! (from [`crate::store::tree::build`], so orphans and parent-id cycles are already safe), with
//! orphans gathered under a "missing parent" group and cycle members under a "cycle" group.
//! Collapsing hides a subtree; the visible rows are recomputed only when the trace or the
//! collapsed set changes, and a frame draws only the rows in view, so a 20,000-span trace
//! scrolls as fast as a small one. (tui-tree-widget flattens every open node, cloning its
//! whole path, recursively on every frame: O(spans x depth) per frame and a stack overflow on
//! a deep chain, which is why this view does its own flattening.)
//!
//! The GenAI-only tree (`a`) leaves out spans that are neither model calls, tools,
//! retrievals, agents, embeddings nor evaluators (HTTP, DB and framework plumbing); a kept span
//! hangs under its nearest kept ancestor, so the structure stays. Top-level spans always stay.

use crate::model::SpanId;
use crate::store::Trace;
use crate::store::tree::{RootKind, build};
use foldhash::HashSet;

/// A node of the displayed tree: a span, or a group heading for spans without a usable parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Span(usize),
    MissingParentGroup,
    CycleGroup,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    pub depth: usize,
    /// Index of the first node after this node's subtree.
    pub end: usize,
}

impl Node {
    pub fn has_children(&self, me: usize) -> bool {
        self.end > me + 1
    }

    pub fn span(&self) -> Option<usize> {
        match self.kind {
            NodeKind::Span(i) => Some(i),
            _ => None,
        }
    }
}

/// Group headings are collapsed and expanded by these stand-in ids.
pub const MISSING_PARENT_ID: SpanId = SpanId([0xff; 8]);
pub const CYCLE_ID: SpanId = SpanId([0xfe; 8]);

/// The tree of a trace and which of its nodes are visible.
#[derive(Debug, Default)]
pub struct SpanTree {
    pub nodes: Vec<Node>,
    /// Indexes into `nodes` of the visible rows, top to bottom.
    pub rows: Vec<usize>,
    /// Spans (and group ids) whose subtree is hidden.
    pub collapsed: HashSet<SpanId>,
    /// The span count the tree was built from (a change means new spans arrived).
    pub built_from: usize,
    /// Only GenAI spans are shown (see the module text).
    pub genai_only: bool,
    /// The trace's arrival sequence: a different one means the trace was evicted and its id
    /// seen again, so every span index is stale.
    pub seq: u64,
}

impl SpanTree {
    pub fn build(trace: &Trace, collapsed: HashSet<SpanId>) -> Self {
        Self::build_with(trace, collapsed, false)
    }

    /// [`Self::build`], with only the GenAI spans when `genai_only`.
    pub fn build_with(trace: &Trace, collapsed: HashSet<SpanId>, genai_only: bool) -> Self {
        let mut order = build(&trace.spans);
        if genai_only {
            // Original depths of the kept ancestors of the node being looked at.
            let mut kept: Vec<usize> = Vec::new();
            order.retain_mut(|n| {
                while kept.last().is_some_and(|&d| d >= n.depth) {
                    kept.pop();
                }
                if n.depth > 0 && !is_genai(&trace.spans[n.index]) {
                    return false;
                }
                let depth = kept.len();
                kept.push(n.depth);
                n.depth = depth;
                true
            });
        }
        let mut nodes: Vec<Node> = Vec::with_capacity(order.len() + 2);
        // `build` lists real roots first, then orphans, then cycle members: each kind of
        // top-level node without a real parent goes under one group heading.
        let mut group: Option<RootKind> = None;
        for n in &order {
            if n.depth == 0 {
                match n.root.unwrap_or(RootKind::Root) {
                    RootKind::Root => group = None,
                    kind if group != Some(kind) => {
                        let heading = match kind {
                            RootKind::MissingParent => NodeKind::MissingParentGroup,
                            _ => NodeKind::CycleGroup,
                        };
                        nodes.push(Node {
                            kind: heading,
                            depth: 0,
                            end: 0,
                        });
                        group = Some(kind);
                    }
                    _ => {}
                }
            }
            nodes.push(Node {
                kind: NodeKind::Span(n.index),
                depth: n.depth + usize::from(group.is_some()),
                end: 0,
            });
        }
        // Subtree ends: the next node at the same or a shallower depth.
        let mut stack: Vec<usize> = Vec::new();
        for i in 0..nodes.len() {
            while let Some(&top) = stack.last() {
                if nodes[top].depth >= nodes[i].depth {
                    nodes[top].end = i;
                    stack.pop();
                } else {
                    break;
                }
            }
            stack.push(i);
        }
        for i in stack {
            nodes[i].end = nodes.len();
        }
        let mut tree = SpanTree {
            nodes,
            rows: Vec::new(),
            collapsed,
            built_from: trace.spans.len(),
            genai_only,
            seq: trace.seq,
        };
        tree.refresh_rows(trace);
        tree
    }

    /// The id a node is collapsed by.
    pub fn node_id(&self, trace: &Trace, node: usize) -> SpanId {
        match self.nodes[node].kind {
            NodeKind::Span(i) => trace.spans[i].span_id,
            NodeKind::MissingParentGroup => MISSING_PARENT_ID,
            NodeKind::CycleGroup => CYCLE_ID,
        }
    }

    /// Recomputes the visible rows from the collapsed set.
    pub fn refresh_rows(&mut self, trace: &Trace) {
        self.rows.clear();
        let mut i = 0;
        while i < self.nodes.len() {
            self.rows.push(i);
            let id = self.node_id(trace, i);
            i = if self.collapsed.contains(&id) {
                self.nodes[i].end
            } else {
                i + 1
            };
        }
    }

    /// The visible row showing span `id`, expanding its ancestors if it is hidden.
    pub fn reveal(&mut self, trace: &Trace, id: SpanId) -> Option<usize> {
        let node = (0..self.nodes.len())
            .find(|&n| self.nodes[n].span().map(|i| trace.spans[i].span_id) == Some(id))?;
        let mut changed = false;
        for a in 0..node {
            if self.nodes[a].end > node && self.collapsed.remove(&self.node_id(trace, a)) {
                changed = true;
            }
        }
        if changed {
            self.refresh_rows(trace);
        }
        self.rows.iter().position(|&r| r == node)
    }

    pub fn toggle(&mut self, trace: &Trace, node: usize) {
        if !self.nodes[node].has_children(node) {
            return;
        }
        let id = self.node_id(trace, node);
        if !self.collapsed.remove(&id) {
            self.collapsed.insert(id);
        }
        self.refresh_rows(trace);
    }

    pub fn set_collapsed(&mut self, trace: &Trace, node: usize, collapsed: bool) {
        if !self.nodes[node].has_children(node) {
            return;
        }
        let id = self.node_id(trace, node);
        let changed = if collapsed {
            self.collapsed.insert(id)
        } else {
            self.collapsed.remove(&id)
        };
        if changed {
            self.refresh_rows(trace);
        }
    }

    /// Collapses every node with children below the top level (top-level nodes stay open so
    /// the trace's shape shows), or expands everything.
    pub fn collapse_all(&mut self, trace: &Trace, collapse: bool) {
        self.collapsed.clear();
        if collapse {
            for n in 0..self.nodes.len() {
                if self.nodes[n].depth > 0 && self.nodes[n].has_children(n) {
                    let id = self.node_id(trace, n);
                    self.collapsed.insert(id);
                }
            }
        }
        self.refresh_rows(trace);
    }

    /// The parent node of `node` (the closest earlier node one level up).
    pub fn parent(&self, node: usize) -> Option<usize> {
        let depth = self.nodes[node].depth;
        (0..node)
            .rev()
            .find(|&a| self.nodes[a].depth + 1 == depth && self.nodes[a].end > node)
    }
}

/// A span the GenAI-only tree keeps: a model call, tool, retrieval, agent, embedding or
/// evaluator.
pub fn is_genai(span: &crate::model::SpanRecord) -> bool {
    use crate::semconv::Kind;
    span.sem.as_deref().is_some_and(|m| {
        matches!(
            m.kind,
            Kind::Llm
                | Kind::Embedding
                | Kind::Rerank
                | Kind::Tool
                | Kind::Retrieval
                | Kind::Agent
                | Kind::Evaluator
        )
    })
}

/// The critical path: starting at the root, the time each span spends waiting on nobody (its
/// own time) while the child that finishes last is followed backwards, as Jaeger draws it.
/// Returns (span index, nanoseconds on the path) pairs whose times sum to the root's duration.
pub fn critical_path(trace: &Trace) -> Vec<(usize, u64)> {
    let spans = &trace.spans;
    let Some(root) = spans.iter().position(|s| s.parent_span_id.is_none()) else {
        return Vec::new();
    };
    let mut children: foldhash::HashMap<SpanId, Vec<usize>> = foldhash::HashMap::default();
    for (i, s) in spans.iter().enumerate() {
        if let Some(p) = s.parent_span_id
            && p != s.span_id
        {
            children.entry(p).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    let mut seen: HashSet<usize> = HashSet::default();
    // (span, the time up to which it is on the path)
    let mut stack = vec![(root, spans[root].end_unix_nano)];
    while let Some((i, until)) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        let s = &spans[i];
        let mut t = until.min(s.end_unix_nano);
        let mut kids: Vec<usize> = children.get(&s.span_id).cloned().unwrap_or_default();
        kids.sort_by_key(|&k| std::cmp::Reverse(spans[k].end_unix_nano));
        let mut own = 0;
        let mut next: Vec<(usize, u64)> = Vec::new();
        for k in kids {
            let c = &spans[k];
            if c.end_unix_nano > t || c.start_unix_nano >= t || c.start_unix_nano < s.start_unix_nano {
                continue;
            }
            own += t - c.end_unix_nano;
            next.push((k, c.end_unix_nano));
            t = c.start_unix_nano;
        }
        own += t.saturating_sub(s.start_unix_nano);
        out.push((i, own));
        stack.extend(next.into_iter().rev());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::span;
    use crate::store::{StoreLimits, TraceStore};

    fn trace_of(spans: Vec<crate::model::SpanRecord>) -> TraceStore {
        let mut st = TraceStore::new(StoreLimits::default());
        st.insert_spans(spans);
        st
    }

    fn only(st: &TraceStore) -> &Trace {
        st.traces_newest_first().next().unwrap()
    }

    #[test]
    fn orphans_sit_under_a_missing_parent_group_and_collapse_hides_subtrees() {
        // root 1 -> 2 -> 3, and 9 whose parent 8 never arrived.
        let st = trace_of(vec![
            span(1, 1, None, 0),
            span(1, 2, Some(1), 1),
            span(1, 3, Some(2), 2),
            span(1, 9, Some(8), 3),
        ]);
        let t = only(&st);
        let mut tree = SpanTree::build(t, HashSet::default());
        let kinds: Vec<(NodeKind, usize)> = tree.nodes.iter().map(|n| (n.kind, n.depth)).collect();
        let ids: Vec<Option<u8>> = tree
            .nodes
            .iter()
            .map(|n| n.span().map(|i| t.spans[i].span_id.0[0]))
            .collect();
        assert_eq!(ids, vec![Some(1), Some(2), Some(3), None, Some(9)]);
        assert_eq!(kinds[3], (NodeKind::MissingParentGroup, 0));
        assert_eq!(kinds[4].1, 1, "the orphan sits under the group");
        assert_eq!(tree.rows.len(), 5);
        tree.toggle(t, 1);
        assert_eq!(tree.rows, vec![0, 1, 3, 4], "span 3 hidden under 2");
        assert_eq!(
            tree.reveal(t, SpanId([3; 8])),
            Some(2),
            "revealing expands its ancestors"
        );
        tree.collapse_all(t, true);
        assert_eq!(tree.rows, vec![0, 1, 3, 4]);
        tree.collapse_all(t, false);
        assert_eq!(tree.rows.len(), 5);
        assert_eq!(tree.parent(2), Some(1));
        assert_eq!(tree.parent(4), Some(3));
    }

    #[test]
    fn the_genai_tree_hangs_kept_spans_under_their_nearest_kept_ancestor() {
        use crate::semconv::{Kind, Semantics};
        let with = |mut s: crate::model::SpanRecord, kind: Kind| {
            s.sem = Some(Box::new(Semantics {
                kind,
                ..Default::default()
            }));
            s
        };
        // 1 root (http) -> 2 chain -> 3 llm -> 4 db; 2 -> 5 http client -> 6 tool; 1 -> 7 agent.
        let st = trace_of(vec![
            span(4, 1, None, 0),
            with(span(4, 2, Some(1), 1), Kind::Chain),
            with(span(4, 3, Some(2), 2), Kind::Llm),
            span(4, 4, Some(3), 3),
            span(4, 5, Some(2), 4),
            with(span(4, 6, Some(5), 5), Kind::Tool),
            with(span(4, 7, Some(1), 6), Kind::Agent),
        ]);
        let t = only(&st);
        let shape = |tree: &SpanTree| -> Vec<(u8, usize)> {
            tree.nodes
                .iter()
                .filter_map(|n| n.span().map(|i| (t.spans[i].span_id.0[0], n.depth)))
                .collect()
        };
        let all = SpanTree::build(t, HashSet::default());
        assert_eq!(shape(&all).len(), 7);
        let genai = SpanTree::build_with(t, HashSet::default(), true);
        assert_eq!(shape(&genai), vec![(1, 0), (3, 1), (6, 1), (7, 1)]);
        assert_eq!(genai.nodes[0].end, 4, "the root's subtree holds the kept spans");
        assert!(!genai.nodes[1].has_children(1));
        assert_eq!(genai.rows, vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_deep_chain_builds_without_recursion() {
        let mut spans = vec![span(2, 0, None, 0)];
        let n = 20_000u32;
        for i in 1..n {
            let mut s = span(2, 0, None, 0);
            s.span_id = SpanId([(i % 256) as u8, (i / 256) as u8, 1, 0, 0, 0, 0, 0]);
            let p = i - 1;
            s.parent_span_id = Some(if p == 0 {
                SpanId([0; 8])
            } else {
                SpanId([(p % 256) as u8, (p / 256) as u8, 1, 0, 0, 0, 0, 0])
            });
            spans.push(s);
        }
        let st = trace_of(spans);
        let t = only(&st);
        let tree = SpanTree::build(t, HashSet::default());
        assert_eq!(tree.rows.len(), n as usize);
        assert_eq!(tree.nodes[0].end, n as usize);
        assert_eq!(tree.nodes[n as usize - 1].depth, n as usize - 1);
        let path = critical_path(t);
        assert_eq!(path.len(), n as usize);
    }

    #[test]
    fn the_critical_path_follows_the_last_finishing_child() {
        // root 0..10 s; a 1..4 s; b 2..9 s (finishes last); b's child c 3..8 s.
        let mut root = span(3, 1, None, 0);
        root.end_unix_nano = root.start_unix_nano + 10_000_000_000;
        let base = root.start_unix_nano;
        let at = |s: u64| base + s * 1_000_000_000;
        let mut a = span(3, 2, Some(1), 0);
        (a.start_unix_nano, a.end_unix_nano) = (at(1), at(4));
        let mut b = span(3, 3, Some(1), 0);
        (b.start_unix_nano, b.end_unix_nano) = (at(2), at(9));
        let mut c = span(3, 4, Some(3), 0);
        (c.start_unix_nano, c.end_unix_nano) = (at(3), at(8));
        let st = trace_of(vec![root, a, b, c]);
        let t = only(&st);
        let path: Vec<(u8, u64)> = critical_path(t)
            .into_iter()
            .map(|(i, ns)| (t.spans[i].span_id.0[0], ns / 1_000_000_000))
            .collect();
        // root: 9..10 and 0..2 = 3 s; b: 8..9 and 2..3 = 2 s; c: 5 s; a is not on the path.
        assert_eq!(path, vec![(1, 3), (3, 2), (4, 5)]);
    }
}
