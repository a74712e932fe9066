//! The library's layers, as the README's layout lists them: a module reads
//! only modules of a lower layer or of its own, never one above it. Read
//! from the source: every `crate::module` path in a module's files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The README's order, from the bottom: (layer, top-level modules).
const LAYERS: &[(u32, &[&str])] = &[
    (1, &["engine"]),
    (2, &["expr", "gradcheck"]),
    (3, &["error", "json", "whole_file"]),
    (4, &["nn"]),
    (5, &["data"]),
    (6, &["train"]),
    (7, &["viz"]),
];

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/micrograd/src");

fn layer_of(module: &str) -> Option<u32> {
    LAYERS
        .iter()
        .find(|(_, modules)| modules.contains(&module))
        .map(|&(layer, _)| layer)
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(path).unwrap() {
        files.extend(rust_files(&entry.unwrap().path()));
    }
    files.retain(|f| f.extension().is_some_and(|e| e == "rs"));
    files
}

/// The top-level modules a file names as `crate::name`, outside comments.
fn crate_paths(text: &str) -> BTreeSet<String> {
    paths_after(text, "crate::")
}

#[test]
fn every_top_level_module_has_a_layer() {
    let mut unlisted = Vec::new();
    for entry in fs::read_dir(SRC).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if name != "lib" && layer_of(&name).is_none() {
            unlisted.push(name);
        }
    }
    assert!(unlisted.is_empty(), "modules with no layer: {unlisted:?}");
}

#[test]
fn no_module_reads_one_above_it() {
    let mut upward = Vec::new();
    for &(layer, modules) in LAYERS {
        for module in modules {
            let dir = Path::new(SRC).join(module);
            let path = if dir.is_dir() {
                dir
            } else {
                Path::new(SRC).join(format!("{module}.rs"))
            };
            for file in rust_files(&path) {
                let text = fs::read_to_string(&file).unwrap();
                for used in crate_paths(&text) {
                    let Some(used_layer) = layer_of(&used) else {
                        continue;
                    };
                    if used_layer > layer {
                        upward.push(format!(
                            "{} (layer {layer}) reads crate::{used} (layer {used_layer})",
                            file.strip_prefix(SRC).unwrap().display()
                        ));
                    }
                }
            }
        }
    }
    assert!(upward.is_empty(), "{upward:#?}");
}

#[test]
fn the_reader_finds_paths_and_groups() {
    let found = crate_paths(
        "use crate::nn::Weights;\nuse crate::{data, train::Task};\n// crate::viz in a comment\n",
    );
    let expected: BTreeSet<String> = ["nn", "data", "train"].map(String::from).into();
    assert_eq!(found, expected);
}

/// The modules a file names as `super::name`, outside comments: within
/// the engine, its sibling files.
fn super_paths(text: &str) -> BTreeSet<String> {
    paths_after(text, "super::")
}

/// The names that follow `prefix` (or each name of a `prefix{a, b}`
/// group), outside comments.
fn paths_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                group.split(',').map(str::trim).collect()
            } else {
                vec![rest]
            };
            for name in names {
                let module: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !module.is_empty() {
                    found.insert(module);
                }
            }
        }
    }
    found
}

/// The groups of modules that import each other, directly or through
/// others (the strongly connected components of more than one module),
/// each sorted, in order.
fn import_loops(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reachable = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|m| (m, reachable(m))).collect();
    let mut loops = BTreeSet::new();
    for (m, from_m) in &reach {
        let group: Vec<String> = from_m
            .iter()
            .filter(|other| reach.get(other).is_some_and(|r| r.contains(*m)))
            .cloned()
            .collect();
        if group.len() > 1 {
            loops.insert(group);
        }
    }
    loops.into_iter().collect()
}

#[test]
fn the_engines_only_import_loop_is_the_arena_and_its_handles() {
    let engine = Path::new(SRC).join("engine");
    let mut graph = BTreeMap::new();
    for file in rust_files(&engine) {
        let name = file.file_stem().unwrap().to_str().unwrap().to_owned();
        // mod.rs declares every module; it is the engine's door, not a room.
        if name == "mod" {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        graph.insert(name, super_paths(&text));
    }
    assert!(graph.contains_key("tape") && graph.contains_key("value"));
    // Only the engine's own files are rooms of this graph.
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for imports in graph.values_mut() {
        imports.retain(|m| modules.contains(m));
    }
    assert_eq!(
        import_loops(&graph),
        [vec!["tape".to_owned(), "value".to_owned()]],
        "the engine's imports: {graph:#?}"
    );
}

#[test]
fn the_loop_finder_finds_loops_through_others() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a", "d"]),
        ("d", vec![]),
        ("e", vec!["f"]),
        ("f", vec!["e"]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_owned(), to.into_iter().map(String::from).collect()))
    .collect();
    let loops = import_loops(&graph);
    assert_eq!(loops, [vec!["a", "b", "c"], vec!["e", "f"]]);
    let found = super_paths(
        "use super::tape::{Tape, with_tape};\nuse super::{node, rules::Unary};\n// super::value\nuse super::*;\n",
    );
    let expected: BTreeSet<String> = ["tape", "node", "rules"].map(String::from).into();
    assert_eq!(found, expected);
}

/// A module reads another through its path, never through the crate
/// root's re-exports (`crate::Value`): the root re-exports every layer,
/// the top one included, so a read through it runs up the layers.
#[test]
fn no_module_reads_through_the_crate_root() {
    let mut through_root = Vec::new();
    for file in rust_files(Path::new(SRC)) {
        if file.ends_with("lib.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if let Some(at) = code.find("crate::") {
                let next = code[at + "crate::".len()..].chars().next();
                if next.is_some_and(|c| c.is_ascii_uppercase()) {
                    through_root.push(format!(
                        "{}:{}: {}",
                        file.strip_prefix(SRC).unwrap().display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(through_root.is_empty(), "{through_root:#?}");
}
