//! The house's layering: no import circles among src/ files, and a `//!` first line in each.
//!
//! The rule. File A *imports* file B when A names an item of B through a path that starts with
//! `crate::`, `super::`, `self::` or the name of a child module A declares (`keep::Keep` in a
//! file with `mod keep;`), or `llmwatch::` in `src/main.rs` (the binary), in a `use`
//! (groups `{…}` expanded) or anywhere in code: expressions, types, patterns, macro arguments.
//! A `mod x;` declaration alone is not an import, and neither are doc links. A path is resolved
//! to an absolute module path (`super` climbs from the module the path is written in, inline
//! `mod tests { … }` blocks included) and then to the deepest src file whose module path is a
//! prefix of it: `crate::store::keep::Keep` is `src/store/keep.rs`, `crate::store::TraceStore`
//! is `src/store/mod.rs`, a re-export counts for the file that re-exports. Code under
//! `#[cfg(test)]` does not count (a test may reach across layers for its fixtures); files that
//! hold only tests do, harmlessly, since nothing else names them. Paths through a name brought
//! in by `use` (`store::keep::Keep` after `use crate::store;`) count only as the `use` itself.
//!
//! The test fails listing every strongly connected group of two or more files (each file in it
//! reaches every other), with the imports inside the group and where each is first written, so
//! whoever breaks a circle sees which edge to cut. It also fails when a file below the commands
//! (anything but `src/main.rs` and `src/cli/`) imports one of them. Direction is the fix:
//! commands on top, the pipeline below, the model at the bottom; a lower file that needs
//! something from a higher one gets it moved down (docs/development.md, "Layering").

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path from the crate root: `["store", "keep"]`.
type ModPath = Vec<String>;

/// One import: the absolute path named and the line it is first written on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Named {
    path: ModPath,
    line: usize,
}

/// The module path of a src file: `lib.rs`/`main.rs` are the root, `a/mod.rs` and `a.rs` are
/// `a`, `a/b.rs` is `a::b`.
fn module_of(rel: &Path) -> ModPath {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.strip_suffix(".rs").unwrap_or(&file);
    let is_root = parts.is_empty() && (stem == "lib" || stem == "main");
    if stem != "mod" && !is_root {
        parts.push(stem.to_owned());
    }
    parts
}

/// Every path a file's source names through `crate::`, `super::` or `self::` (and the crate's
/// own name when `crate_alias` is given), resolved to absolute module paths. `module` is the
/// file's own module path.
fn named_paths(source: &str, module: &[String], crate_alias: Option<&str>) -> Vec<Named> {
    let tokens: TokenStream = match source.parse() {
        Ok(tokens) => tokens,
        Err(err) => panic!("cannot tokenise: {err}"),
    };
    let mut out = Vec::new();
    let scanner = Scanner { crate_alias };
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    scanner.scan(&tokens, &Scope::of(&tokens, module.to_vec()), &mut out);
    out
}

struct Scanner<'a> {
    crate_alias: Option<&'a str>,
}

/// The module a token is written in, and the child modules it declares (`mod name;` or
/// `mod name { … }`): a path may start with a child's name, as `self::name` would.
struct Scope {
    module: ModPath,
    children: BTreeSet<String>,
}

impl Scope {
    fn of(tokens: &[TokenTree], module: ModPath) -> Self {
        let children = tokens
            .windows(3)
            .filter(|w| is_ident(&w[0], "mod"))
            .filter_map(|w| match (&w[1], &w[2]) {
                (TokenTree::Ident(name), TokenTree::Punct(p)) if p.as_char() == ';' => Some(name),
                (TokenTree::Ident(name), TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                    Some(name)
                }
                _ => None,
            })
            .map(|name| name.to_string())
            .collect();
        Self { module, children }
    }
}

impl Scanner<'_> {
    /// Walks tokens written in `scope` (inline `mod name { … }` blocks are scopes of their own).
    fn scan(&self, tokens: &[TokenTree], scope: &Scope, out: &mut Vec<Named>) {
        let mut i = 0;
        while i < tokens.len() {
            // `#![cfg(test)]`: the whole module is test code.
            if is_cfg_test(tokens, i, true) {
                return;
            }
            // `#[cfg(test)] item`: test code, skipped up to the end of the item.
            if is_cfg_test(tokens, i, false) {
                i = end_of_item(tokens, i + 2);
                continue;
            }
            // `mod name { … }`: the block is a module of its own.
            if is_ident(&tokens[i], "mod")
                && let (Some(TokenTree::Ident(name)), Some(TokenTree::Group(body))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                && body.delimiter() == Delimiter::Brace
            {
                let mut inner = scope.module.clone();
                inner.push(name.to_string());
                let body: Vec<TokenTree> = body.stream().into_iter().collect();
                self.scan(&body, &Scope::of(&body, inner), out);
                i += 3;
                continue;
            }
            // `pub(in crate::a)` names a module for visibility, not an item to use.
            let after_in = i > 0 && is_ident(&tokens[i - 1], "in");
            if !after_in && let Some(root) = self.path_root(tokens, i, scope) {
                let line = tokens[i].span().start().line;
                i = self.path_from(tokens, i, root, line, out);
                continue;
            }
            if let TokenTree::Group(group) = &tokens[i] {
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                self.scan(&inner, scope, out);
            }
            i += 1;
        }
    }

    /// When a path starts at `tokens[i]` (`crate::`, `super::`, `self::`, a child module's
    /// name, or the crate's name followed by `::`), the module it starts from; `None`
    /// otherwise. Not when the token is itself the tail of a longer path (`a::self`).
    fn path_root(&self, tokens: &[TokenTree], i: usize, scope: &Scope) -> Option<ModPath> {
        let TokenTree::Ident(ident) = &tokens[i] else {
            return None;
        };
        if !is_colons(tokens, i + 1) || (i >= 2 && is_colons(tokens, i - 2)) {
            return None;
        }
        let module = &scope.module;
        let name = ident.to_string();
        match name.as_str() {
            "crate" => Some(Vec::new()),
            "self" => Some(module.clone()),
            "super" => Some(module[..module.len().saturating_sub(1)].to_vec()),
            _ if Some(name.as_str()) == self.crate_alias => Some(Vec::new()),
            _ if scope.children.contains(&name) => {
                let mut child = module.clone();
                child.push(name);
                Some(child)
            }
            _ => None,
        }
    }

    /// Reads the path that starts at `tokens[start]` (its first segment already resolved to
    /// `root`), records what it names and returns the index after it.
    fn path_from(
        &self,
        tokens: &[TokenTree],
        start: usize,
        mut path: ModPath,
        line: usize,
        out: &mut Vec<Named>,
    ) -> usize {
        let mut i = start + 1;
        while is_colons(tokens, i) {
            match tokens.get(i + 2) {
                Some(TokenTree::Ident(seg)) if seg == "super" => {
                    path.pop();
                }
                Some(TokenTree::Ident(seg)) if seg == "self" => {}
                Some(TokenTree::Ident(seg)) => path.push(seg.to_string()),
                Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                    self.use_group(group.stream(), &path, line, out);
                    return i + 3;
                }
                // `*`, `<…>` (turbofish) or anything else ends the path.
                _ => break,
            }
            i += 3;
        }
        out.push(Named { path, line });
        i
    }

    /// A `use` group `{a, b::c, self, d::{…}}` under `prefix`.
    fn use_group(&self, stream: TokenStream, prefix: &ModPath, line: usize, out: &mut Vec<Named>) {
        let tokens: Vec<TokenTree> = stream.into_iter().collect();
        for item in tokens.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
            let mut path = prefix.clone();
            let mut j = 0;
            let mut group = None;
            while j < item.len() {
                match &item[j] {
                    TokenTree::Ident(seg) if seg == "as" => break,
                    TokenTree::Ident(seg) if seg == "self" => {}
                    TokenTree::Ident(seg) if seg == "super" => {
                        path.pop();
                    }
                    TokenTree::Ident(seg) => path.push(seg.to_string()),
                    TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                        group = Some(g.stream());
                        break;
                    }
                    _ => {}
                }
                j += if is_colons(item, j + 1) { 3 } else { 1 };
            }
            match group {
                Some(inner) => self.use_group(inner, &path, line, out),
                None if item.is_empty() => {}
                None => out.push(Named { path, line }),
            }
        }
    }
}

/// `#[cfg(test)]` (or, `inner`, `#![cfg(test)]`) starts at `tokens[i]`.
fn is_cfg_test(tokens: &[TokenTree], i: usize, inner: bool) -> bool {
    let bang = usize::from(inner);
    let starts = matches!(&tokens[i], TokenTree::Punct(p) if p.as_char() == '#')
        && (!inner || matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!'));
    let Some(TokenTree::Group(attr)) = tokens.get(i + 1 + bang).filter(|_| starts) else {
        return false;
    };
    let attr: Vec<TokenTree> = attr.stream().into_iter().collect();
    match attr.as_slice() {
        [cfg, TokenTree::Group(args)] if is_ident(cfg, "cfg") => {
            let args: Vec<TokenTree> = args.stream().into_iter().collect();
            matches!(args.as_slice(), [test] if is_ident(test, "test"))
        }
        _ => false,
    }
}

/// The index after the item that starts at `tokens[i]` (its other attributes included): past
/// its `;` or its body `{ … }`, whichever comes first.
fn end_of_item(tokens: &[TokenTree], mut i: usize) -> usize {
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Punct(p) if p.as_char() == ';' => return i + 1,
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => return i + 1,
            _ => i += 1,
        }
    }
    i
}

fn is_ident(token: &TokenTree, name: &str) -> bool {
    matches!(token, TokenTree::Ident(ident) if ident == name)
}

/// `::` at `tokens[i]` and `tokens[i + 1]`.
fn is_colons(tokens: &[TokenTree], i: usize) -> bool {
    match (tokens.get(i), tokens.get(i + 1)) {
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) => {
            a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
        }
        _ => false,
    }
}

/// The deepest file whose module path is a prefix of `path`.
fn resolve<'a>(path: &[String], files: &'a BTreeMap<ModPath, String>) -> Option<&'a String> {
    (0..=path.len()).rev().find_map(|n| files.get(&path[..n]))
}

/// The import graph: for each file, the files it imports with the first path naming each.
type Graph = BTreeMap<String, BTreeMap<String, Named>>;

/// Builds the graph of `sources` (relative path under src/, text). `main.rs` is the binary:
/// its `crate::` would be itself, and `llmwatch::` names the library.
fn import_graph(sources: &[(String, String)]) -> Graph {
    let files: BTreeMap<ModPath, String> = sources
        .iter()
        .filter(|(rel, _)| rel != "main.rs")
        .map(|(rel, _)| (module_of(Path::new(rel)), rel.clone()))
        .collect();
    let mut graph = Graph::new();
    for (rel, text) in sources {
        let alias = (rel == "main.rs").then_some("llmwatch");
        let module = module_of(Path::new(rel));
        let edges = graph.entry(rel.clone()).or_default();
        for named in named_paths(text, &module, alias) {
            let Some(target) = resolve(&named.path, &files) else {
                continue;
            };
            if target != rel {
                edges.entry(target.clone()).or_insert(named);
            }
        }
    }
    graph
}

/// Strongly connected groups of two or more files (Tarjan), each sorted, in a stable order.
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        groups: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, node: &'g str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flat_map(|e| e.keys()) {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut group = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    group.push(top.to_owned());
                    if top == node {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.groups.push(group);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for node in graph.keys() {
        if !tarjan.index.contains_key(node.as_str()) {
            tarjan.visit(node);
        }
    }
    tarjan.groups.sort();
    tarjan.groups
}

/// The message for the circles found: each group, then every import inside it.
fn describe(graph: &Graph, groups: &[Vec<String>]) -> String {
    let mut text = format!("{} import circle(s) among src/ files:\n", groups.len());
    for (n, group) in groups.iter().enumerate() {
        text.push_str(&format!("\n{}. {}\n", n + 1, group.join(", ")));
        for from in group {
            for (to, named) in &graph[from] {
                if group.contains(to) {
                    let path = named.path.join("::");
                    text.push_str(&format!(
                        "   src/{from}:{} -> src/{to}  (crate::{path})\n",
                        named.line
                    ));
                }
            }
        }
    }
    text
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every .rs file under src/, as (path relative to src/ with `/`, text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = src_dir();
    let mut paths = Vec::new();
    walk(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&root).expect("under src/");
            let rel = rel.to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel, text)
        })
        .collect()
}

#[test]
fn no_import_circles_among_src_files() {
    let graph = import_graph(&sources());
    let groups = circles(&graph);
    assert!(groups.is_empty(), "{}", describe(&graph, &groups));
}

/// Files the commands (`src/cli/`) import from below: none may, the commands are on top.
fn reaching_up_to_the_commands(graph: &Graph) -> Vec<String> {
    let is_command = |file: &str| file == "main.rs" || file.starts_with("cli/");
    graph
        .iter()
        .filter(|(from, _)| !is_command(from))
        .flat_map(|(from, edges)| {
            edges
                .iter()
                .filter(|(to, _)| is_command(to))
                .map(move |(to, named)| {
                    format!(
                        "src/{from}:{} -> src/{to}  (crate::{})",
                        named.line,
                        named.path.join("::")
                    )
                })
        })
        .collect()
}

#[test]
fn nothing_below_the_commands_names_them() {
    let up = reaching_up_to_the_commands(&import_graph(&sources()));
    assert!(
        up.is_empty(),
        "the commands (src/cli/) are on top; move what these need below them:\n{}",
        up.join("\n")
    );
}

#[test]
fn every_src_file_starts_with_a_doc_line() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(rel, _)| format!("src/{rel}"))
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not start with a `//!` line saying what they are for:\n{}",
        missing.join("\n")
    );
}

// The checker's own tests: small sources whose graph is known.

fn strings(parts: &[&str]) -> ModPath {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

fn paths_of(source: &str, module: &[&str]) -> Vec<ModPath> {
    named_paths(source, &strings(module), None)
        .into_iter()
        .map(|n| n.path)
        .collect()
}

#[test]
fn module_paths_follow_the_file_layout() {
    assert_eq!(module_of(Path::new("lib.rs")), strings(&[]));
    assert_eq!(module_of(Path::new("main.rs")), strings(&[]));
    assert_eq!(module_of(Path::new("store/mod.rs")), strings(&["store"]));
    assert_eq!(module_of(Path::new("config.rs")), strings(&["config"]));
    assert_eq!(
        module_of(Path::new("model/convert/borrowed.rs")),
        strings(&["model", "convert", "borrowed"])
    );
}

#[test]
fn use_trees_expand_and_relative_paths_resolve() {
    let source = "use crate::store::{keep::Keep, self, TraceStore as S, tree::{a, b}};\n\
                  use super::sibling::*;\n\
                  use self::child::Thing;\n";
    assert_eq!(
        paths_of(source, &["ingest", "conn"]),
        vec![
            strings(&["store", "keep", "Keep"]),
            strings(&["store"]),
            strings(&["store", "TraceStore"]),
            strings(&["store", "tree", "a"]),
            strings(&["store", "tree", "b"]),
            strings(&["ingest", "sibling"]),
            strings(&["ingest", "conn", "child", "Thing"]),
        ]
    );
}

#[test]
fn paths_in_code_and_macros_count_and_declarations_do_not() {
    let source = r#"
        //! Doc naming [`crate::ui::App`] is no import.
        pub mod child;
        pub(crate) fn f(x: crate::config::Limits) -> usize {
            let s = "crate::report::nothing";
            println!("{}", crate::text::escape(s));
            super::super::top::call::<u8>(x)
        }
        pub(in crate::alert) struct Hidden;
    "#;
    assert_eq!(
        paths_of(source, &["a", "b"]),
        vec![
            strings(&["config", "Limits"]),
            strings(&["text", "escape"]),
            strings(&["top", "call"]),
        ]
    );
}

#[test]
fn inline_modules_move_super_and_self() {
    let source = "mod tests { use super::*; use super::super::up::X; mod deep { use self::y::Z; } }";
    assert_eq!(
        paths_of(source, &["store"]),
        vec![
            strings(&["store"]),
            strings(&["up", "X"]),
            strings(&["store", "tests", "deep", "y", "Z"]),
        ]
    );
}

#[test]
fn paths_resolve_to_the_deepest_file_and_circles_are_found() {
    let sources: Vec<(String, String)> = [
        ("lib.rs", "pub mod config; pub mod store;"),
        ("config.rs", "use crate::store::keep::Keep;"),
        ("store/mod.rs", "pub mod keep; use crate::config::Limits;"),
        (
            "store/keep.rs",
            "pub struct Keep; fn f() -> super::Other { todo!() }",
        ),
        ("main.rs", "use llmwatch::store::Store; fn main() {}"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    let graph = import_graph(&sources);
    assert_eq!(
        graph["config.rs"].keys().collect::<Vec<_>>(),
        vec!["store/keep.rs"]
    );
    assert_eq!(
        graph["store/mod.rs"].keys().collect::<Vec<_>>(),
        vec!["config.rs"]
    );
    assert_eq!(graph["main.rs"].keys().collect::<Vec<_>>(), vec!["store/mod.rs"]);
    assert!(graph["lib.rs"].is_empty(), "mod declarations are no imports");
    let groups = circles(&graph);
    assert_eq!(
        groups,
        vec![vec![
            "config.rs".to_owned(),
            "store/keep.rs".to_owned(),
            "store/mod.rs".to_owned()
        ]]
    );
    let message = describe(&graph, &groups);
    assert!(
        message.contains("src/config.rs:1 -> src/store/keep.rs  (crate::store::keep::Keep)"),
        "{message}"
    );
}

#[test]
fn a_path_may_start_at_a_child_module() {
    let source = "pub mod keep;\nmod tree { pub struct T; }\nuse keep::{Keep, KeepReason};\n\
                  fn f() -> tree::T { other::g(); keep::DEFAULT }";
    assert_eq!(
        paths_of(source, &["store"]),
        vec![
            strings(&["store", "keep", "Keep"]),
            strings(&["store", "keep", "KeepReason"]),
            strings(&["store", "tree", "T"]),
            strings(&["store", "keep", "DEFAULT"]),
        ]
    );
}

#[test]
fn test_code_does_not_count() {
    let source = "#[cfg(test)]\n#[allow(unused)]\nmod tests { use crate::store::test_support::span; }\n\
                  #[cfg(test)] use crate::ui::Thing;\n\
                  #[cfg(not(test))] use crate::a::B;\n\
                  fn f() { #[cfg(test)] let _x = crate::b::C; crate::c::D }";
    assert_eq!(
        paths_of(source, &["semconv"]),
        vec![strings(&["a", "B"]), strings(&["c", "D"])]
    );
    assert!(paths_of("#![cfg(test)]\nuse crate::store::X;", &["t"]).is_empty());
}

#[test]
fn a_lower_file_naming_a_command_is_found() {
    let sources: Vec<(String, String)> = [
        ("lib.rs", "pub mod cli; pub mod report;"),
        ("cli/mod.rs", "pub mod check;"),
        ("cli/check.rs", "use crate::report::run;"),
        ("report.rs", "fn f() { crate::cli::check::EVERY; }"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(
        reaching_up_to_the_commands(&import_graph(&sources)),
        vec!["src/report.rs:1 -> src/cli/check.rs  (crate::cli::check::EVERY)"]
    );
}

#[test]
fn a_graph_without_circles_passes() {
    let sources: Vec<(String, String)> = [
        ("lib.rs", "pub mod a; pub mod b;"),
        ("a.rs", "use crate::b::B; mod tests { use super::*; }"),
        ("b.rs", "pub struct B;"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert!(circles(&import_graph(&sources)).is_empty());
}
