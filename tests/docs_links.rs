//! The documentation holds together: every link in README.md and docs/*.md stays inside the
//! repository and resolves (files, and `#anchors` by GitHub's heading slugs), every page of
//! docs/ is named in its index, no page carries project bookkeeping, and README.md stays a
//! front door (at most 12,000 characters).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const README_LIMIT: usize = 12_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every markdown page under docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The lines outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        match fence {
            Some(f) if t.starts_with(f) => fence = None,
            Some(_) => {}
            None if t.starts_with("```") => fence = Some("```"),
            None if t.starts_with("~~~") => fence = Some("~~~"),
            None => out.push(line),
        }
    }
    out
}

/// A line without its inline code spans (`like this`): links inside them are text.
fn without_code(line: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code {
            out.push(c);
        }
    }
    out
}

/// GitHub's anchor for a heading: the rendered text lowercased, everything but letters,
/// digits, `-`, `_` and spaces dropped, spaces turned into `-`; repeats get `-1`, `-2`, ...
fn slug(heading: &str) -> String {
    // Rendered text: code marks and emphasis go, a link keeps its text.
    let mut text = String::new();
    let mut chars = heading.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' | '*' => {}
            '[' => {}
            ']' if chars.peek() == Some(&'(') => {
                for c in chars.by_ref() {
                    if c == ')' {
                        break;
                    }
                }
            }
            c => text.push(c),
        }
    }
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for line in prose(text) {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(&line[hashes..]);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// Every `[text](target)` and `![alt](target)` target outside code.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text) {
        let line = without_code(line);
        let mut rest = line.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or("");
            out.push(target.trim_matches(|c| c == '<' || c == '>').to_string());
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_link_stays_in_the_repository_and_resolves() {
    let root = root().canonicalize().unwrap();
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(&root).unwrap_or(&page).display().to_string();
        for target in links(&text) {
            checked += 1;
            if target.contains("://") || target.starts_with("mailto:") || target.starts_with("//") {
                problems.push(format!("{name}: {target}: points outside the repository"));
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(path)
            };
            let Ok(file) = file.canonicalize() else {
                problems.push(format!("{name}: {target}: no such file"));
                continue;
            };
            if !file.starts_with(&root) {
                problems.push(format!("{name}: {target}: outside the repository"));
                continue;
            }
            if let Some(anchor) = anchor {
                let is_md = file.extension().is_some_and(|e| e == "md");
                let known = is_md && anchors(&std::fs::read_to_string(&file).unwrap()).contains(anchor);
                if !known {
                    problems.push(format!(
                        "{name}: {target}: no heading #{anchor} in {}",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(checked > 30, "only {checked} links found: is the parser broken?");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_is_a_front_door() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let chars = text.chars().count();
    assert!(
        chars <= README_LIMIT,
        "README.md has {chars} characters, over {README_LIMIT}"
    );
    // CI and newcomers find the two commands in the README's first code block.
    let block = text
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    assert!(
        block.contains("cargo run --release -- demo") && block.contains("\ncargo test"),
        "{block}"
    );
    assert!(text.contains("](docs/screen.svg)"), "the picture of the screen");
}

#[test]
fn every_docs_page_is_named_in_the_index() {
    let index = std::fs::read_to_string(root().join("docs/README.md")).unwrap();
    for page in pages().iter().skip(1) {
        let name = page.file_name().unwrap().to_string_lossy();
        if name == "README.md" {
            continue;
        }
        assert!(index.contains(&*name), "docs/README.md does not name {name}");
    }
}

#[test]
fn no_page_carries_project_bookkeeping() {
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let lower = text.to_lowercase();
        for (i, _) in lower.match_indices("issue ") {
            let next = lower[i + 6..].chars().next();
            assert!(
                !next.is_some_and(|c| c.is_ascii_digit()),
                "{}: \"{}\"",
                page.display(),
                &text[i..(i + 12).min(text.len())]
            );
        }
        assert!(
            !text.lines().any(|l| l.starts_with("## Status")),
            "{}: a Status section",
            page.display()
        );
    }
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug(" `llmwatch config`"), "llmwatch-config");
    assert_eq!(
        slug(" Comparing two captures: `diff`"),
        "comparing-two-captures-diff"
    );
    assert_eq!(
        slug(" `demo --send` and the exporter"),
        "demo---send-and-the-exporter"
    );
    assert_eq!(
        slug(" Sizes, addresses & exit codes"),
        "sizes-addresses--exit-codes"
    );
    let twice = anchors("# A\n## Notes\n```\n# not a heading\n```\n## Notes\n");
    assert!(twice.contains("notes") && twice.contains("notes-1") && !twice.contains("not-a-heading"));
    let found = links("[a](x.md) `[b](y.md)` ![c](d.svg)\n```\n[e](f.md)\n```\n");
    assert_eq!(found, vec!["x.md", "d.svg"]);
}
