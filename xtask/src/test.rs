//! `cargo xtask test`: every check the project has, in the order that fails fastest, with the
//! Rust tests (end-to-end ones included) inside a session with Xvfb and a real Secret Service.

use anyhow::Context as _;
use xshell::{Shell, cmd};

use crate::demo::app_binary;
use crate::session::{Session, Work};
use crate::{setup, step, target_dir, ui};

pub(crate) fn run() -> anyhow::Result<()> {
    setup::run(setup::Needs::Tests)?;
    let sh = Shell::new()?;

    step("rustfmt");
    cmd!(sh, "cargo fmt --all --check")
        .run()
        .context("code is not formatted: run `cargo fmt --all`")?;

    // The app crate embeds ui/dist, so the UI is built before anything compiles the app.
    ui::build(&sh)?;
    ui::check_and_test(&sh)?;

    step("clippy");
    cmd!(
        sh,
        "cargo clippy --workspace --all-targets --locked -- -D warnings"
    )
    .run()
    .context("clippy found problems")?;

    step("fuzz targets compile (their own workspace in fuzz/)");
    let fuzz_manifest = crate::project_root().join("fuzz/Cargo.toml");
    let fuzz_target = target_dir().join("fuzz");
    cmd!(
        sh,
        "cargo check --locked --manifest-path {fuzz_manifest} --target-dir {fuzz_target}"
    )
    .run()
    .context("a fuzz target does not compile")?;

    step("building the app the end-to-end tests drive");
    cmd!(
        sh,
        "cargo build --locked -p deskbridge-app --bin deskbridge"
    )
    .run()?;

    step("Rust tests (nextest) under Xvfb with a real Secret Service");
    let app = app_binary();
    let app = app.to_str().context("the app's path is not UTF-8")?;
    let state = tempdir_in_target("test-session")?;
    Session {
        always_xvfb: true,
        state_dir: state.clone(),
    }
    .run(Work::Exec(&[
        "env",
        &format!("DESKBRIDGE_APP_BIN={app}"),
        "cargo",
        "nextest",
        "run",
        "--workspace",
        "--locked",
        "--no-fail-fast",
    ]))?;

    step("doc tests");
    cmd!(sh, "cargo test --workspace --locked --doc").run()?;

    let _ = std::fs::remove_dir_all(state);
    println!("\nAll checks passed.");
    Ok(())
}

/// A fresh folder below `target/` for one run's throwaway session state.
fn tempdir_in_target(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = target_dir().join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
