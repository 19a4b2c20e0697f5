//! Writes a benchmark's figures into the workspace's BENCHMARKS.md. Each benchmark owns one
//! section, between `<!-- name:start -->` and `<!-- name:end -->`, and rewrites only what lies
//! between its markers; a section not there yet is appended under its heading and intro.

use std::path::{Path, PathBuf};

/// A benchmark's section of BENCHMARKS.md.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    /// The markers' name, e.g. `resync` for `<!-- resync:start -->`.
    pub name: &'a str,
    /// The heading used when the section is first written, e.g. `Resync`.
    pub heading: &'a str,
    /// What the benchmark measures and how, written once above the markers.
    pub intro: &'a str,
}

/// The workspace's BENCHMARKS.md.
pub fn benchmarks_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("this crate sits two folders below the workspace")
        .join("BENCHMARKS.md")
}

/// Replaces `section`'s measured text in BENCHMARKS.md with `measured`; answers the file's path.
pub fn write(section: &Section<'_>, measured: &str) -> std::io::Result<PathBuf> {
    let path = benchmarks_file();
    let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".to_owned());
    std::fs::write(&path, rewrite(&existing, section, measured))?;
    Ok(path)
}

/// `existing` with `section`'s measured text replaced by `measured`, or the section appended.
pub fn rewrite(existing: &str, section: &Section<'_>, measured: &str) -> String {
    let start = format!("<!-- {}:start -->", section.name);
    let end = format!("<!-- {}:end -->", section.name);
    let measured = if measured.ends_with('\n') {
        measured.to_owned()
    } else {
        format!("{measured}\n")
    };
    match (existing.find(&start), existing.find(&end)) {
        (Some(from), Some(to)) if from < to => format!(
            "{}{start}\n{measured}{}",
            &existing[..from],
            &existing[to..]
        ),
        _ => format!(
            "{}\n\n## {}\n\n{}\n\n{start}\n{measured}{end}\n",
            existing.trim_end(),
            section.heading,
            section.intro.trim_end()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECTION: Section<'static> = Section {
        name: "resync",
        heading: "Resync",
        intro: "What it measures.",
    };

    #[test]
    fn only_the_text_between_the_markers_changes() {
        let existing =
            "# Benchmarks\n\nintro\n<!-- resync:start -->\nold\n<!-- resync:end -->\n\nafter\n";
        assert_eq!(
            rewrite(existing, &SECTION, "new"),
            "# Benchmarks\n\nintro\n<!-- resync:start -->\nnew\n<!-- resync:end -->\n\nafter\n"
        );
    }

    #[test]
    fn a_missing_section_is_appended_with_its_heading_and_intro() {
        assert_eq!(
            rewrite("# Benchmarks\n", &SECTION, "figures\n"),
            "# Benchmarks\n\n## Resync\n\nWhat it measures.\n\n<!-- resync:start -->\nfigures\n<!-- resync:end -->\n"
        );
    }
}
