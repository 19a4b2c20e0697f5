//! `Store` in a fresh process, where SQLCipher has not been used yet.

use std::sync::Barrier;

use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::MemorySecrets;
use deskbridge_core::store::Store;
use tempfile::TempDir;

/// SQLCipher sets itself up on first use and does not guard against a concurrent first use; the
/// store serialises opening. Each thread opens its own new database at the same moment. (Under
/// nextest every test is a fresh process, so this is SQLCipher's very first use there.)
#[test]
fn stores_opened_at_the_same_moment_in_a_fresh_process_all_open() {
    const THREADS: usize = 16;
    let barrier = Barrier::new(THREADS);
    let dirs: Vec<TempDir> = (0..THREADS)
        .map(|_| TempDir::new().expect("temp dir"))
        .collect();
    std::thread::scope(|scope| {
        let opened: Vec<_> = dirs
            .iter()
            .map(|dir| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let secrets = MemorySecrets::new();
                    barrier.wait();
                    Store::open(dir.path(), Environment::Sandbox, &secrets, &OsRandom)
                        .map(|store| store.schema_version())
                })
            })
            .collect();
        for handle in opened {
            let result = handle.join().expect("thread");
            assert!(matches!(result, Ok(Ok(_))), "{result:?}");
        }
    });
}
