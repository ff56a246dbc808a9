//! The layout rules the architecture keeps, checked on the source itself: modules of a crate
//! never import each other (directly or in a loop), files stay small, and `shared` stays a
//! kernel (no query that only one service uses; a size that says so).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use support::repo_root;

const CRATES: [&str; 11] = [
    "domain",
    "matching",
    "settings",
    "shared",
    "kafka-bus",
    "testkit",
    "gateway",
    "ingestor",
    "evaluator",
    "notifier",
    "pricealert",
];
/// Longest non-test source file (vendor/ is not ours).
const MAX_FILE_LINES: usize = 400;
/// `shared/src` is the kernel: connection, migrations, domain, events, bus, metrics plumbing and
/// telemetry. Beyond this it is taking on some service's job.
// 3,677 after the architecture step; the alert-change relay (shared by the gateway and the
// evaluator), the outbox rows and the history, overload and SMTP settings brought it to ~4,200;
// the reads two services share of chat channels and quiet hours, the day packs of candles and
// the Telegram settings to ~4,660; the Binance, failover and evaluator batch settings and the
// consumer's `batch_from` to 4,895 of a 4,900 cap. Typed settings (2,325 lines) then became
// the `settings` crate, re-exported as `shared::config`: 2,573 left. SQLite's one writing
// connection, PostgreSQL's leased connections and the relay's flush on one connection (storage,
// the kernel's own job) brought it to 2,838; it was at 2,899 when the relay's flush moved to
// messages of several statements (two round trips instead of four): 2,914.
const MAX_SHARED_LINES: usize = 2_920;

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `a::b` for `src/a/b.rs` and `src/a/b/mod.rs`; `crate` for `lib.rs`/`main.rs`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("inside src");
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] || parts.is_empty() {
        return "crate".to_owned();
    }
    parts.join("::")
}

/// The source without comments and without `#[cfg(test)]` modules at the end of a file.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules a file's code refers to: `crate::a::b::…` and `super::…` paths, resolved to the
/// longest known module. `pub use` lines are a folder re-exporting its parts, not a use.
fn references(module: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let parent = module
        .rsplit_once("::")
        .map_or("crate", |(p, _)| p)
        .to_owned();
    let mut statement = String::new();
    for line in code.lines() {
        let line = line.trim();
        if line.starts_with("pub use ") || line.starts_with("pub(crate) use ") {
            statement = line.to_owned();
        }
        if !statement.is_empty() {
            if line.ends_with(';') {
                statement.clear();
            }
            continue;
        }
        // A child named by a relative path (`kafka::KafkaBus` in `bus`) or through `self::`.
        let own = if module == "crate" {
            String::new()
        } else {
            format!("{module}::")
        };
        for child in modules.iter().filter_map(|m| m.strip_prefix(own.as_str())) {
            if child.contains("::") || child.is_empty() || format!("{own}{child}") == module {
                continue;
            }
            for pattern in [format!("{child}::"), format!("self::{child}")] {
                let mut rest = line;
                while let Some(at) = rest.find(&pattern) {
                    let before = rest[..at].chars().last();
                    rest = &rest[at + pattern.len()..];
                    let bounded =
                        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
                    if bounded || pattern.starts_with("self::") {
                        found.insert(format!("{own}{child}"));
                    }
                }
            }
        }
        for (prefix, base) in [("crate::", None), ("super::", Some(parent.as_str()))] {
            let mut rest = line;
            while let Some(at) = rest.find(prefix) {
                let before = rest[..at].chars().last();
                rest = &rest[at + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    continue;
                }
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '{')
                    .collect();
                let path = path.trim_end_matches([':', '{']);
                let full = match base {
                    Some("crate") | None => path.to_owned(),
                    Some(base) => format!("{base}::{path}"),
                };
                let mut candidate = full.as_str();
                loop {
                    if modules.contains(candidate) {
                        if candidate != module {
                            found.insert(candidate.to_owned());
                        }
                        break;
                    }
                    match candidate.rsplit_once("::") {
                        Some((shorter, _)) => candidate = shorter,
                        None => break,
                    }
                }
            }
        }
    }
    found
}

/// A cycle in `graph`, if any (as the list of modules around it).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

fn import_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = rust_files(src);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
    files
        .iter()
        .filter(|file| !file.ends_with("main.rs"))
        .map(|file| {
            let module = module_of(src, file);
            let text = std::fs::read_to_string(file).expect("read a source file");
            let refs = references(&module, &code_of(&text), &modules);
            (module, refs)
        })
        .collect()
}

#[test]
fn no_two_modules_of_a_crate_import_each_other_directly_or_in_a_loop() {
    for krate in CRATES {
        let graph = import_graph(&repo_root().join(krate).join("src"));
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{krate}: modules import each other: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_check_finds_a_loop_through_three_modules() {
    let modules: BTreeSet<String> = ["state", "auth", "routes", "routes::prices"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut graph = BTreeMap::new();
    for (module, code) in [
        ("state", "use crate::routes::prices::PriceView;"),
        ("routes::prices", "use crate::auth::AuthUser;"),
        ("auth", "fn f(s: &crate::state::AppState) {}"),
        ("routes", "pub use prices::router;"),
    ] {
        graph.insert(module.to_owned(), references(module, code, &modules));
    }
    let cycle = find_cycle(&graph).expect("the loop is found");
    assert_eq!(cycle.len(), 4, "{cycle:?}");
}

#[test]
fn the_cycle_check_sees_a_parent_and_child_that_use_each_other() {
    let modules: BTreeSet<String> = ["bus", "bus::kafka"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut graph = BTreeMap::new();
    graph.insert(
        "bus".to_owned(),
        references("bus", "fn f() { kafka::connect() }", &modules),
    );
    graph.insert(
        "bus::kafka".to_owned(),
        references("bus::kafka", "use super::BusError;", &modules),
    );
    assert!(find_cycle(&graph).is_some());
    // A folder re-exporting its parts is not a use.
    graph.insert(
        "bus".to_owned(),
        references("bus", "pub use kafka::KafkaBus;", &modules),
    );
    assert!(find_cycle(&graph).is_none());
}

#[test]
fn no_non_test_source_file_is_longer_than_400_lines() {
    let mut long = Vec::new();
    for krate in CRATES {
        for file in rust_files(&repo_root().join(krate).join("src")) {
            let text = std::fs::read_to_string(&file).expect("read");
            let lines = text.lines().count();
            // A module's unit tests may sit in a `tests.rs` of their own.
            let is_test = file.file_name().is_some_and(|n| n == "tests.rs");
            if lines > MAX_FILE_LINES && !is_test {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines: {long:?}"
    );
}

#[test]
fn shared_stays_a_small_kernel_without_a_service_query() {
    let src = repo_root().join("shared").join("src");
    let mut total = 0;
    let mut queries = Vec::new();
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).expect("read");
        total += text.lines().count();
        let module = module_of(&src, &file);
        // The kernel's own statements: the alert row every service decodes, the queries two
        // services share (the outboxes' relay among them; the day packs of candles, which the
        // ingestor writes and the gateway reads, one home for their format and lock),
        // migrations and health checks; and test fixtures.
        let allowed = [
            "storage",
            "storage::alert_rows",
            "storage::candle_days",
            "storage::outbox",
            "storage::shared_reads",
            "testing",
        ];
        let code = code_of(&text).to_lowercase();
        let runs_sql = ["select ", "insert into", "update ", "delete from"]
            .iter()
            .any(|keyword| code.contains(&format!("\"{keyword}")));
        if runs_sql && !allowed.contains(&module.as_str()) {
            queries.push(module);
        }
    }
    assert!(
        total <= MAX_SHARED_LINES,
        "shared/src has {total} lines (at most {MAX_SHARED_LINES})"
    );
    assert!(
        queries.is_empty(),
        "queries in shared outside the kernel's storage: {queries:?}"
    );
}
