//! The layering that docs/architecture.md states is the code's: this test
//! reads the table "What each part owns, and what it may import" from the
//! document and every `crate::` path in `src/`, and fails on an import the
//! table does not allow, on a part without a row (or a row without a part)
//! and on any import cycle between parts. The document cannot drift from the
//! code again: change one, and this test says where the other disagrees.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One row of the table: a part of `src/` and the parts it may import.
#[derive(Debug)]
struct Row {
    part: String,
    may_import: BTreeSet<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The rows of the first table in `doc` whose header has the columns
/// `part` and `may import`. A part is written `` `name/` `` (a folder) or
/// `` `name.rs` `` (a file); what it may import is a list of backticked part
/// names, or `nothing`.
fn layering_table(doc: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut columns: Option<(usize, usize)> = None;
    for line in doc.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            if columns.is_some() && !rows.is_empty() {
                break;
            }
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        match columns {
            None => {
                let part = cells.iter().position(|c| *c == "part");
                let may = cells.iter().position(|c| *c == "may import");
                if let (Some(part), Some(may)) = (part, may) {
                    columns = Some((part, may));
                }
            }
            Some(_)
                if cells
                    .iter()
                    .all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) => {}
            Some((part, may)) => {
                let name = backticked(cells[part])
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| panic!("a part in backticks: {line}"));
                let name = name
                    .trim_end_matches('/')
                    .trim_end_matches(".rs")
                    .to_string();
                let may_import = backticked(cells[may])
                    .into_iter()
                    .map(|n| n.trim_end_matches('/').trim_end_matches(".rs").to_string())
                    .collect();
                rows.push(Row {
                    part: name,
                    may_import,
                });
            }
        }
    }
    assert!(
        !rows.is_empty(),
        "docs/architecture.md has no table with the columns `part` and `may import`"
    );
    rows
}

fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// The parts of `src/`: each folder, and each file but `lib.rs` (which only
/// declares them) and `main.rs` (the binary, checked through `gan_lab::`).
fn parts(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut parts = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() || (path.extension().is_some_and(|e| e == "rs") && name != "lib") {
            parts.insert(name, path);
        }
    }
    parts
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The parts named by the paths in `line` that start with `prefix`
/// (`crate::` in the library, `gan_lab::` in the binary), including each
/// name of a group (`crate::{a::X, b}`).
fn named_parts(line: &str, prefix: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut names = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.push(item);
        } else {
            names.push(rest.to_string());
        }
    }
    names
        .into_iter()
        .map(|n| {
            n.trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty() && n != "self")
        .collect()
}

/// Every import between parts: (from, to) -> the first `file:line` seen.
fn imports(parts: &BTreeMap<String, PathBuf>) -> BTreeMap<(String, String), String> {
    let mut found = BTreeMap::new();
    for (part, path) in parts {
        let prefix = if part == "main" {
            "gan_lab::"
        } else {
            "crate::"
        };
        for file in rust_files(path) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                for target in named_parts(line, prefix) {
                    if &target != part && parts.contains_key(&target) {
                        let place = format!(
                            "{}:{}",
                            file.strip_prefix(root()).unwrap_or(&file).display(),
                            n + 1
                        );
                        found.entry((part.clone(), target)).or_insert(place);
                    }
                }
            }
        }
    }
    found
}

/// A cycle in the import graph, as the parts along it, if there is one.
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeSet<(String, String)>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for (_, to) in edges.iter().filter(|(from, _)| from == node) {
            if let Some(cycle) = visit(to, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    let nodes: BTreeSet<&String> = edges.iter().map(|(from, _)| from).collect();
    nodes
        .into_iter()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

/// What is wrong with the code against the table, one line each.
fn problems(rows: &[Row], parts: &BTreeMap<String, PathBuf>) -> Vec<String> {
    let mut problems = Vec::new();
    let table: BTreeMap<&str, &Row> = rows.iter().map(|r| (r.part.as_str(), r)).collect();
    for part in parts.keys() {
        if !table.contains_key(part.as_str()) {
            problems.push(format!(
                "src/{part} is not in docs/architecture.md's table: add a row saying what it owns and may import"
            ));
        }
    }
    for row in rows {
        if !parts.contains_key(&row.part) {
            problems.push(format!(
                "docs/architecture.md names `{}`, which src/ does not have",
                row.part
            ));
        }
    }
    let imports = imports(parts);
    for ((from, to), place) in &imports {
        if let Some(row) = table.get(from.as_str())
            && !row.may_import.contains(to)
        {
            problems.push(format!(
                "{place}: `{from}` imports `{to}`, which docs/architecture.md does not allow"
            ));
        }
    }
    let edges: BTreeSet<(String, String)> = imports.into_keys().collect();
    if let Some(cycle) = find_cycle(&edges) {
        problems.push(format!("import cycle: {}", cycle.join(" -> ")));
    }
    problems
}

#[test]
fn the_code_keeps_the_documented_layering() {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let problems = problems(&layering_table(&doc), &parts(&root().join("src")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_finds_forbidden_imports_and_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("a/mod.rs"), "use crate::b::X;\n").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::{c::Y, a};\n").unwrap();
    std::fs::write(src.join("c.rs"), "// use crate::a::Z;\nfn f() {}\n").unwrap();
    let doc = "| part | owns | may import |\n| --- | --- | --- |\n\
               | `a/` | x | `b` |\n| `b.rs` | y | `a`, `c` |\n| `c.rs` | z | nothing |\n";
    let found = problems(&layering_table(doc), &parts(&src));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("import cycle: a -> b -> a"),
        "{found:?}"
    );

    let doc = "| part | owns | may import |\n| --- | --- | --- |\n\
               | `a/` | x | `b` |\n| `b.rs` | y | `c` |\n| `c.rs` | z | nothing |\n| `d/` | w | |\n";
    let found = problems(&layering_table(doc), &parts(&src));
    assert!(
        found
            .iter()
            .any(|p| p.contains("`b` imports `a`, which docs/architecture.md does not allow")),
        "{found:?}"
    );
    assert!(found.iter().any(|p| p.contains("names `d`")), "{found:?}");
    assert!(
        found.iter().any(|p| p.contains("import cycle")),
        "{found:?}"
    );
}
