//! `cargo xtask bench`: the benchmarks, in the keyring session they need, writing BENCHMARKS.md;
//! `cargo xtask crash-test`: the SIGKILL crash test at 200 rounds.

use crate::session::{Session, Work};
use crate::{setup, step, target_dir};

pub(crate) fn run() -> anyhow::Result<()> {
    setup::run(setup::Needs::App)?;
    step("ingest benchmark (release build): latency at 50/s, saturation, SQLCipher vs plain");
    session("bench-session")?.run(Work::Exec(&[
        "cargo",
        "bench",
        "--locked",
        "-p",
        "deskbridge-cli",
        "--features",
        "plaintext-benchmark",
        "--bench",
        "ingest",
    ]))?;
    step("resync benchmark (release build): 10,000 appointments from the Zocdoc emulator");
    session("bench-session")?.run(Work::Exec(&[
        "cargo",
        "bench",
        "--locked",
        "-p",
        "deskbridge-core",
        "--bench",
        "resync",
    ]))?;
    step("analytics benchmark (release build): every figure for a year of 100,000 appointments");
    session("bench-session")?.run(Work::Exec(&[
        "cargo",
        "bench",
        "--locked",
        "-p",
        "deskbridge-core",
        "--bench",
        "analytics",
    ]))?;
    step("Caspio push benchmark (release build): 1,000 rows to the Caspio emulator");
    session("bench-session")?.run(Work::Exec(&[
        "cargo",
        "bench",
        "--locked",
        "-p",
        "deskbridge-core",
        "--bench",
        "caspio_push",
    ]))?;
    step("relay benchmark (release build): added latency, p99 at 50/s");
    session("bench-session")?.run(Work::Exec(&[
        "cargo",
        "bench",
        "--locked",
        "-p",
        "deskbridge-relay",
    ]))?;
    println!("\nResults written to BENCHMARKS.md.");
    Ok(())
}

pub(crate) fn crash_test(rounds: u32) -> anyhow::Result<()> {
    setup::run(setup::Needs::App)?;
    step(&format!(
        "crash test: {rounds} rounds of SIGKILL under load"
    ));
    session("crash-session")?.run(Work::Exec(&[
        "env",
        &format!("DESKBRIDGE_CRASH_ROUNDS={rounds}"),
        "cargo",
        "test",
        "--locked",
        "--release",
        "-p",
        "deskbridge-cli",
        "--test",
        "it",
        "crash::",
        "--",
        "--nocapture",
    ]))
}

fn session(name: &str) -> anyhow::Result<Session> {
    let state_dir = target_dir().join(name);
    let _ = std::fs::remove_dir_all(&state_dir);
    Ok(Session {
        always_xvfb: false,
        state_dir,
    })
}
