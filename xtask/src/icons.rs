//! Renders the app's icon set (RGBA PNGs, as Tauri requires) from the committed `icons/deskbridge.svg`.

use anyhow::{Context as _, bail};
use xshell::{Shell, cmd};

use crate::{project_root, setup, step};

/// Output file and edge length in pixels; `tauri.conf.json` lists the same files.
pub(crate) const ICONS: &[(&str, u32)] = &[
    ("32x32.png", 32),
    ("128x128.png", 128),
    ("128x128@2x.png", 256),
    ("icon.png", 512),
];

pub(crate) fn run() -> anyhow::Result<()> {
    setup::run(setup::Needs::App)?;
    let sh = Shell::new()?;
    let icons = project_root().join("icons");
    let source = icons.join("deskbridge.svg");
    step("rendering icons from icons/deskbridge.svg");
    for (name, size) in ICONS {
        let out = icons.join(name);
        let size = size.to_string();
        cmd!(
            sh,
            "rsvg-convert --width {size} --height {size} --format png {source} --output {out}"
        )
        .run()
        .with_context(|| format!("could not render {name}"))?;
        let kind = cmd!(sh, "file --brief {out}").read()?;
        if !kind.contains("RGBA") {
            bail!("{name} is not an RGBA PNG ({kind}); Tauri refuses such icons");
        }
    }
    println!(
        "Icons written to {}. Tauri does not notice icon-only changes: touch src-tauri/build.rs.",
        icons.display()
    );
    Ok(())
}
