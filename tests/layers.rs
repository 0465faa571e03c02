//! The direction of the layers, read from the sources: the core knows no caller and no store;
//! the rule layer holds no SQL and knows no store or adapter; a store holds no rule; and no
//! two modules of one folder import each other, directly or around a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri")
}

/// Every `.rs` file under `folder`, with its text.
fn files(folder: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            found.push((path, text));
        }
    }
    found
}

/// The text without comments, so that prose may name what code may not use.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn offenders(folder: &str, forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files(&sources().join(folder)) {
        let code = code_of(&text);
        for word in forbidden {
            if code.contains(word) {
                found.push(format!("{} uses {word}", path.display()));
            }
        }
    }
    found
}

const ADAPTERS: &[&str] = &[
    "tauri::",
    "axum::",
    "reqwest::",
    "crate::server",
    "crate::desktop",
    "crate::cli",
    "crate::remote",
    "crate::wire",
];

#[test]
fn the_core_knows_no_caller_no_rule_layer_and_no_store() {
    let mut forbidden = ADAPTERS.to_vec();
    forbidden.extend(["rusqlite", "crate::rules", "crate::store"]);
    let found = offenders("core", &forbidden);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn the_rule_layer_holds_no_sql_and_knows_no_store_or_adapter() {
    let mut forbidden = ADAPTERS.to_vec();
    forbidden.extend([
        "rusqlite",
        "crate::store",
        "SELECT ",
        "INSERT INTO",
        "UPDATE ",
        "DELETE FROM",
        " WHERE ",
    ]);
    let found = offenders("rules", &forbidden);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_store_holds_no_rule() {
    let mut forbidden = ADAPTERS.to_vec();
    forbidden.extend([
        // Who acts, what they may do, and the answers only rules give.
        "access::",
        "Actor",
        "Subject",
        ".require(",
        "may_grant",
        "may_manage",
        "Error::Forbidden",
        "Error::forbidden",
        "VersionConflict",
        "RateLimited",
        "SignInFailed",
        "Unauthenticated",
        // Lifecycles, passwords, secrets and the audit entries are the rule layer's.
        "lifecycle",
        "password::",
        "generate_key",
        "generate_token",
        "Record::",
        // The rule layer's own modules; only its storage interface (and the directory type
        // a store is wrapped in) may be named.
        "rules::run",
        "rules::users",
        "rules::auth",
        "rules::keys",
        "rules::roles",
        "rules::groups",
        "rules::grants",
        "rules::audit",
        "rules::actors",
    ]);
    let found = offenders("store", &forbidden);
    assert!(found.is_empty(), "{found:?}");
}

/// The sibling modules each file of `folder` names with `super::NAME`.
fn sibling_imports(folder: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeSet<String> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let stem = path.file_stem()?.to_str()?.to_owned();
            (stem != "mod" && (path.is_dir() || path.extension().is_some_and(|x| x == "rs")))
                .then_some(stem)
        })
        .collect();
    let mut graph = BTreeMap::new();
    for name in &names {
        let file = folder.join(format!("{name}.rs"));
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => code_of(&text),
            Err(_) => continue,
        };
        let mut used = BTreeSet::new();
        for (at, _) in text.match_indices("super::") {
            let rest = &text[at + "super::".len()..];
            let mut candidates = vec![rest];
            // `use super::{a, b::c}` names several.
            if let Some(list) = rest.strip_prefix('{') {
                candidates = list
                    .split('}')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .collect();
            }
            for candidate in candidates {
                let word: String = candidate
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if names.contains(&word) && word != *name {
                    used.insert(word);
                }
            }
        }
        graph.insert(name.clone(), used);
    }
    graph
}

fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_modules_of_one_folder_import_each_other_in_a_circle() {
    let mut folders = vec![sources()];
    let mut circles = Vec::new();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            }
        }
        if let Some(circle) = find_circle(&sibling_imports(&folder)) {
            circles.push(format!("{}: {}", folder.display(), circle.join(" → ")));
        }
    }
    assert!(circles.is_empty(), "{circles:?}");
    // The check sees a circle when there is one.
    let circle: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into();
    assert!(find_circle(&circle).is_some());
}

#[test]
fn only_the_platform_modules_know_which_operating_system_they_run_on() {
    let platform = sources().join("platform");
    let mut found = Vec::new();
    for (path, text) in files(&sources()) {
        if path.starts_with(&platform) {
            continue;
        }
        let code = code_of(&text);
        for word in [
            "cfg(windows",
            "cfg(unix",
            "target_os",
            "cfg(not(windows",
            "cfg(not(unix",
        ] {
            if code.contains(word) {
                found.push(format!("{} uses {word}", path.display()));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
