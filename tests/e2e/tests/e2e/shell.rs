//! The app shell: the window renders the board frame and shows what `app_status` answered.

use deskbridge_e2e::{App, Launch, distinct_colours};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_shows_board_frame_and_app_status() -> anyhow::Result<()> {
    let app = Launch::live().start().await?;
    let result = check_shell(&app).await;
    let screenshot = app.screenshot("shell").await;
    app.close().await?;
    result?;

    let screenshot = screenshot?;
    let colours = distinct_colours(&std::fs::read(&screenshot)?)?;
    assert!(
        colours > 50,
        "the screenshot {} has only {colours} colours: the window did not paint",
        screenshot.display()
    );
    Ok(())
}

async fn check_shell(app: &App) -> anyhow::Result<()> {
    assert_eq!(app.client.title().await?, "Deskbridge");
    app.by_test_id("board").await?;
    let empty = app.by_test_id("board-empty").await?.text().await?;
    assert!(
        empty.contains("No appointments today"),
        "empty state reads {empty:?}"
    );

    // The IPC call's answer, as the status bar shows it. An error state fails here with its text.
    let version = match app.by_test_id("app-version").await {
        Ok(element) => element,
        Err(missing) => {
            let error = app.by_test_id("status-error").await;
            let shown = match error {
                Ok(element) => element.text().await?,
                Err(_) => "nothing".to_owned(),
            };
            anyhow::bail!("the app status never appeared ({missing}); the window shows: {shown}");
        }
    };
    assert_eq!(
        version.attr("data-version").await?.as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        version.text().await?,
        format!(
            "Deskbridge {} · Sandbox — test data",
            env!("CARGO_PKG_VERSION")
        )
    );
    let data_dir = app.by_test_id("data-dir").await?.text().await?;
    assert_eq!(
        data_dir,
        app.expected_data_dir("sandbox").display().to_string()
    );

    // The app opened its SQLCipher database with a key it kept in the session's real keyring.
    let database = app.by_test_id("database-status").await?.text().await?;
    assert!(
        database.starts_with("Encrypted database ready"),
        "database status reads {database:?}"
    );
    assert!(
        app.expected_data_dir("sandbox")
            .join("deskbridge.sqlite3")
            .is_file(),
        "no database file in the data folder"
    );
    Ok(())
}

/// A second launch does not start a second receiver: it hands over to the running app and exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_launch_leaves_the_running_app_alone() -> anyhow::Result<()> {
    let app = Launch::live().start().await?;
    app.by_test_id("board").await?;
    let second = tokio::process::Command::new(deskbridge_e2e::app_binary()?)
        .env("XDG_DATA_HOME", app.data_home())
        .env("DESKBRIDGE_KEYRING_SERVICE", &app.keyring_service)
        .env("DESKBRIDGE_DEMO", "0")
        .kill_on_drop(true)
        .status();
    let exited = tokio::time::timeout(std::time::Duration::from_secs(20), second).await;
    let still_there = app.client.title().await;
    app.close().await?;
    let status = exited.map_err(|_| anyhow::anyhow!("the second launch kept running"))??;
    assert!(status.success(), "the second launch ended with {status}");
    assert_eq!(still_there?, "Deskbridge", "the first app still answers");
    Ok(())
}
