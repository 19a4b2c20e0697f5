//! Tidy checks: the project's structural rules, enforced as tests (as rust-analyzer does).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use cargo_metadata::{MetadataCommand, PackageId};

/// The one package allowed to depend on Tauri.
const TAURI_PACKAGE: &str = "deskbridge-app";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every file below `dir` with one of `extensions`, skipping build output and dependencies.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    const SKIP: &[&str] = &[
        "target",
        "node_modules",
        "dist",
        "gen",
        ".git",
        "corpus",
        "artifacts",
    ];
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if !SKIP.contains(&name.to_string_lossy().as_ref()) {
                    stack.push(path);
                }
            } else if path
                .extension()
                .is_some_and(|e| extensions.contains(&e.to_string_lossy().as_ref()))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn rust_files() -> Vec<PathBuf> {
    ["crates", "src-tauri", "xtask", "tests", "fuzz"]
        .iter()
        .flat_map(|dir| files(&root().join(dir), &["rs"]))
        .collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn only_src_tauri_depends_on_tauri() {
    let metadata = MetadataCommand::new()
        .manifest_path(root().join("Cargo.toml"))
        .exec()
        .unwrap();
    let resolve = metadata.resolve.as_ref().unwrap();
    let deps: HashMap<&PackageId, Vec<&PackageId>> = resolve
        .nodes
        .iter()
        .map(|node| (&node.id, node.deps.iter().map(|d| &d.pkg).collect()))
        .collect();
    let name = |id: &PackageId| metadata[id].name.as_str();

    let mut offenders = Vec::new();
    for member in &metadata.workspace_members {
        if name(member) == TAURI_PACKAGE {
            continue;
        }
        let mut seen = HashSet::new();
        let mut stack = vec![member];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if name(id) == "tauri" || name(id).starts_with("tauri-") {
                offenders.push(format!("{} reaches {}", name(member), name(id)));
                break;
            }
            stack.extend(deps.get(id).into_iter().flatten());
        }
    }
    assert!(
        offenders.is_empty(),
        "only {TAURI_PACKAGE} (src-tauri) may depend on Tauri: {offenders:?}"
    );
    assert!(
        metadata
            .workspace_members
            .iter()
            .any(|id| name(id) == TAURI_PACKAGE),
        "the app package {TAURI_PACKAGE} is missing from the workspace"
    );

    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("Which crates may depend on Tauri: ONLY `src-tauri`"),
        "the workspace manifest must say in a comment which crates may depend on Tauri"
    );
}

#[test]
fn every_crate_uses_the_workspace_lints() {
    let metadata = MetadataCommand::new()
        .manifest_path(root().join("Cargo.toml"))
        .no_deps()
        .exec()
        .unwrap();
    let missing: Vec<String> = metadata
        .workspace_packages()
        .iter()
        .filter(|package| {
            let manifest = std::fs::read_to_string(&package.manifest_path).unwrap();
            !manifest.contains("[lints]\nworkspace = true")
        })
        .map(|package| package.name.to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "crates without `[lints] workspace = true`: {missing:?}"
    );
}

#[test]
fn every_rust_module_starts_with_its_purpose() {
    let files = rust_files();
    assert!(
        files.len() > 10,
        "the tidy walk found too few files: {}",
        files.len()
    );
    let undocumented: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| relative(path))
        .collect();
    assert!(
        undocumented.is_empty(),
        "these modules do not start with a `//!` line saying what they are for: {undocumented:?}"
    );
}

#[test]
fn every_ui_module_starts_with_a_comment() {
    let files = files(&root().join("ui/src"), &["ts", "svelte"]);
    assert!(!files.is_empty());
    let undocumented: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let first = text.trim_start();
            !(first.starts_with("//") || first.starts_with("<!--"))
        })
        .map(|path| relative(path))
        .collect();
    assert!(
        undocumented.is_empty(),
        "these UI files do not start with a comment saying what they are for: {undocumented:?}"
    );
}

#[test]
fn no_todo_without_an_issue_and_no_vague_names() {
    let mut problems = Vec::new();
    let mut all = rust_files();
    all.extend(files(&root().join("ui/src"), &["ts", "svelte"]));
    for path in &all {
        let text = std::fs::read_to_string(path).unwrap();
        for (number, line) in text.lines().enumerate() {
            let at = || format!("{}:{}", relative(path), number + 1);
            for marker in ["TODO", "FIXME", "XXX"] {
                if let Some(pos) = line.find(marker) {
                    let after = &line[pos + marker.len()..];
                    if !after.starts_with("(#") && !line.contains("\"TODO") {
                        problems.push(format!(
                            "{}: {marker} without an issue, write {marker}(#N)",
                            at()
                        ));
                    }
                }
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            for pair in words.windows(2) {
                let [keyword, name] = pair else { continue };
                if !matches!(
                    *keyword,
                    "struct" | "enum" | "trait" | "mod" | "type" | "fn"
                ) {
                    continue;
                }
                let name = name.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_');
                let lower = name.to_ascii_lowercase();
                if ["manager", "util", "helper"]
                    .iter()
                    .any(|vague| lower.contains(vague))
                {
                    problems.push(format!("{}: `{name}` says nothing of what it is", at()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn icons_are_rgba_pngs_rendered_from_the_svg() {
    let config: String = std::fs::read_to_string(root().join("src-tauri/tauri.conf.json")).unwrap();
    let svg = std::fs::read_to_string(root().join("icons/deskbridge.svg")).unwrap();
    assert!(
        svg.contains("<svg"),
        "icons/deskbridge.svg is the icons' source"
    );
    let listed: Vec<&str> = config
        .split('"')
        .filter(|s| s.starts_with("../icons/") && s.ends_with(".png"))
        .collect();
    assert!(!listed.is_empty(), "tauri.conf.json lists no icons");
    for icon in listed {
        let path = root().join("src-tauri").join(icon);
        let bytes = std::fs::read(&path).unwrap_or_else(|_| panic!("{icon} is missing"));
        assert_eq!(&bytes[1..4], b"PNG", "{icon} is not a PNG");
        // IHDR colour type at byte 25: 6 = truecolour with alpha, which Tauri requires.
        assert_eq!(bytes[25], 6, "{icon} is not RGBA: run `cargo xtask icons`");
        assert!(bytes.len() > 500, "{icon} looks empty");
    }
}

#[test]
fn vendored_zocdoc_spec_matches_the_shared_reference() {
    let vendored = root().join("crates/sandbox/reference/zocdoc-openapi.yml");
    let vendored = std::fs::read(&vendored).expect("the emulator keeps a copy of Zocdoc's spec");
    // The shared reference folder sits beside the repository in CI and on developer machines; a
    // clone elsewhere has only the vendored copy, which is then all there is to compare.
    let shared = root().join("../shared/reference/zocdoc-openapi.yml");
    if let Ok(shared) = std::fs::read(shared) {
        assert!(
            vendored == shared,
            "crates/sandbox/reference/zocdoc-openapi.yml differs from the shared reference: copy \
             it over again"
        );
    }
}
