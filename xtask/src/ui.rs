//! The UI's npm scripts: build into `ui/dist` (the app embeds it), type-check, unit-test.

use anyhow::Context as _;
use xshell::{Shell, cmd};

use crate::{project_root, step};

/// Builds the UI into `ui/dist`, which the app embeds at compile time.
pub(crate) fn build(sh: &Shell) -> anyhow::Result<()> {
    step("building the UI (vite build)");
    let _dir = sh.push_dir(project_root().join("ui"));
    cmd!(sh, "npm run --silent build")
        .run()
        .context("the UI build failed")
}

/// svelte-check (TypeScript and Svelte diagnostics, warnings fail) and Vitest.
pub(crate) fn check_and_test(sh: &Shell) -> anyhow::Result<()> {
    let _dir = sh.push_dir(project_root().join("ui"));
    step("type-checking the UI (svelte-check)");
    cmd!(sh, "npm run --silent check")
        .run()
        .context("the UI type check failed")?;
    step("the UI's unit tests (vitest)");
    cmd!(sh, "npm run --silent test")
        .run()
        .context("the UI's unit tests failed")
}
