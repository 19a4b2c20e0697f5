//! Regenerates `ui/src/lib/bindings.ts` from the Rust IPC types (the drift test does the writing).

use anyhow::Context as _;
use xshell::{Shell, cmd};

use crate::{setup, step, ui};

pub(crate) fn run() -> anyhow::Result<()> {
    setup::run(setup::Needs::App)?;
    let sh = Shell::new()?;
    // The app crate embeds ui/dist at compile time, so a UI build must exist first.
    ui::build(&sh)?;
    step("regenerating ui/src/lib/bindings.ts");
    cmd!(
        sh,
        "cargo test --quiet -p deskbridge-app --lib ipc::tests::bindings_are_current"
    )
    .env("UPDATE_BINDINGS", "1")
    .run()
    .context("could not regenerate the bindings")?;
    // Rebuild so ui/dist matches the new bindings.
    ui::build(&sh)
}
