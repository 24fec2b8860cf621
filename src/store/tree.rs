//! The parent/child shape of one trace, built on demand from parent ids. Spans arrive in any
//! order and some never arrive, so the tree tolerates everything: spans whose parent is missing
//! become "orphan" roots, and a parent-id cycle (or a span naming itself as parent) is broken
//! rather than followed. Iterative, so a 100,000-deep chain cannot overflow the stack.

use crate::model::{SpanId, SpanRecord};
use foldhash::{HashMap, HashMapExt};

/// Why a node sits at the top level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootKind {
    /// A real root: no parent id.
    Root,
    /// Its parent id names a span this trace does not (yet) hold.
    MissingParent,
    /// It is part of a parent-id cycle (or is its own parent); the cycle was cut here.
    Cycle,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeNode {
    /// Index into the trace's span slice.
    pub index: usize,
    pub depth: usize,
    /// Set for top-level nodes.
    pub root: Option<RootKind>,
}

/// Depth-first order of all spans (each exactly once): roots by start time, then orphans, then
/// cycle members; children by start time.
pub fn build(spans: &[SpanRecord]) -> Vec<TreeNode> {
    let mut by_id: HashMap<SpanId, usize> = HashMap::with_capacity(spans.len());
    for (i, s) in spans.iter().enumerate() {
        by_id.entry(s.span_id).or_insert(i);
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut tops: Vec<(RootKind, usize)> = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match s.parent_span_id {
            None => tops.push((RootKind::Root, i)),
            Some(p) if p == s.span_id => {}
            Some(p) => match by_id.get(&p) {
                Some(&parent) => children[parent].push(i),
                None => tops.push((RootKind::MissingParent, i)),
            },
        }
    }
    let by_start =
        |a: &usize, b: &usize| (spans[*a].start_unix_nano, *a).cmp(&(spans[*b].start_unix_nano, *b));
    for c in &mut children {
        c.sort_by(by_start);
    }
    tops.sort_by(|(ka, a), (kb, b)| (*ka as u8).cmp(&(*kb as u8)).then(by_start(a, b)));

    let mut visited = vec![false; spans.len()];
    let mut out = Vec::with_capacity(spans.len());
    let walk = |top: usize, kind: RootKind, visited: &mut Vec<bool>, out: &mut Vec<TreeNode>| {
        let mut stack = vec![(top, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            if visited[i] {
                continue;
            }
            visited[i] = true;
            out.push(TreeNode {
                index: i,
                depth,
                root: (depth == 0).then_some(kind),
            });
            stack.extend(
                children[i]
                    .iter()
                    .rev()
                    .filter(|c| !visited[**c])
                    .map(|c| (*c, depth + 1)),
            );
        }
    };
    for (kind, i) in tops {
        walk(i, kind, &mut visited, &mut out);
    }
    // Whatever is left hangs off a cycle (self-parents included): cut it at its earliest span.
    let mut rest: Vec<usize> = (0..spans.len()).filter(|i| !visited[*i]).collect();
    rest.sort_by(by_start);
    for i in rest {
        if !visited[i] {
            walk(i, RootKind::Cycle, &mut visited, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::span;

    fn shape(spans: &[SpanRecord]) -> Vec<(u8, usize, Option<RootKind>)> {
        build(spans)
            .into_iter()
            .map(|n| (spans[n.index].span_id.0[0], n.depth, n.root))
            .collect()
    }

    #[test]
    fn children_before_parents_still_form_a_tree() {
        // Arrival order: grandchild, child, root.
        let spans = vec![
            span(1, 3, Some(2), 30),
            span(1, 2, Some(1), 20),
            span(1, 1, None, 10),
        ];
        assert_eq!(
            shape(&spans),
            vec![(1, 0, Some(RootKind::Root)), (2, 1, None), (3, 2, None)]
        );
    }

    #[test]
    fn orphans_are_kept_under_a_missing_parent_marker() {
        let spans = vec![
            span(1, 1, None, 10),
            span(1, 5, Some(9), 5),
            span(1, 6, Some(5), 6),
        ];
        assert_eq!(
            shape(&spans),
            vec![
                (1, 0, Some(RootKind::Root)),
                (5, 0, Some(RootKind::MissingParent)),
                (6, 1, None)
            ]
        );
    }

    #[test]
    fn cycles_and_self_parents_terminate_and_keep_every_span() {
        let spans = vec![
            span(1, 1, Some(2), 10),
            span(1, 2, Some(1), 20),
            span(1, 3, Some(3), 30),
            span(1, 4, Some(1), 40),
        ];
        let nodes = shape(&spans);
        assert_eq!(
            nodes,
            vec![
                (1, 0, Some(RootKind::Cycle)),
                (2, 1, None),
                (4, 1, None),
                (3, 0, Some(RootKind::Cycle)),
            ]
        );
    }

    #[test]
    fn a_very_deep_chain_does_not_overflow() {
        let n = 100_000u32;
        let spans: Vec<_> = (1..=n)
            .map(|i| {
                let mut s = span(1, 0, None, i as u64);
                s.span_id = SpanId((i as u64).to_be_bytes());
                s.parent_span_id = (i > 1).then(|| SpanId((i as u64 - 1).to_be_bytes()));
                s
            })
            .collect();
        let nodes = build(&spans);
        assert_eq!(nodes.len(), n as usize);
        assert_eq!(nodes.last().unwrap().depth, n as usize - 1);
    }
}
