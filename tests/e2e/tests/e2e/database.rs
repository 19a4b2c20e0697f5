//! The encrypted database's states as staff see them: a database whose key the keyring does not
//! give is reported in plain words, and left untouched.

use deskbridge_e2e::{APP_IDENTIFIER, Launch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_without_its_key_is_reported_and_left_alone() -> anyhow::Result<()> {
    const EXISTING: &[u8] = b"existing encrypted data";
    let database = |data_home: &std::path::Path| {
        data_home
            .join(APP_IDENTIFIER)
            .join("sandbox")
            .join("deskbridge.sqlite3")
    };
    let mut database_file = None;
    let app = Launch::live()
        .prepare(|data_home, _| {
            let file = database(data_home);
            std::fs::create_dir_all(file.parent().unwrap())?;
            std::fs::write(&file, EXISTING)?;
            database_file = Some(file);
            Ok(())
        })
        .start()
        .await?;
    let shown = async {
        let problem = app.by_test_id("database-problem").await?;
        anyhow::Ok((problem.text().await?, problem.attr("data-problem").await?))
    }
    .await;
    let screenshot = app.screenshot("database-key-missing").await;
    // Read before closing: the data folder goes with the app.
    let file = database_file.expect("prepared");
    let after = std::fs::read(&file);
    app.close().await?;

    let (text, code) = shown?;
    screenshot?;
    assert_eq!(code.as_deref(), Some("database_key_missing"));
    assert!(text.contains("does not give its key"), "{text}");
    assert!(text.contains("do not delete the database file"), "{text}");
    assert_eq!(after?, EXISTING, "the existing data was changed");
    Ok(())
}
