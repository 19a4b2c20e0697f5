//! Demo mode, as a practice evaluating Deskbridge first sees it: within a minute the board shows
//! appointments in several lanes, the inspector shows verified webhooks and a Caspio dry run lists
//! rows, all through the real paths (emulator → relay → tunnel → verification → encrypted store →
//! API fetches; Caspio emulator).

use std::collections::BTreeSet;
use std::time::Duration;

use deskbridge_e2e::Launch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_day_fills_the_board_and_the_inspector_within_a_minute() -> anyhow::Result<()> {
    let app = Launch::demo(90).start().await?;
    let checked = async {
        let banner = app.by_test_id("demo-banner").await?.text().await?;
        assert!(banner.contains("Demo — sandbox data"), "{banner}");
        let lanes = app
            .eventually(Duration::from_secs(60), || async {
                let lanes: BTreeSet<String> =
                    app.data_of_all("card", "lane").await?.into_iter().collect();
                Ok((lanes.len() >= 3).then_some(lanes))
            })
            .await?;
        app.screenshot("demo-board").await?;

        app.by_test_id("nav-webhooks").await?.click().await?;
        let verified = app
            .eventually(Duration::from_secs(30), || async {
                let stored = app
                    .data_of_all("webhook-row", "verdict")
                    .await?
                    .iter()
                    .filter(|verdict| *verdict == "stored")
                    .count();
                Ok((stored >= 3).then_some(stored))
            })
            .await?;
        app.screenshot("demo-inspector").await?;

        app.by_test_id("nav-caspio").await?.click().await?;
        app.by_test_id("caspio-dry-run").await?.click().await?;
        let planned = app
            .eventually(Duration::from_secs(30), || async {
                let actions = app.data_of_all("dry-run-row", "action").await?;
                Ok((!actions.is_empty()).then_some(actions))
            })
            .await?;
        assert!(
            planned.iter().all(|action| action == "insert"),
            "nothing was pushed yet, so every row is an insert: {planned:?}"
        );
        app.screenshot("demo-caspio-dry-run").await?;
        anyhow::Ok((lanes, verified))
    }
    .await;
    // Checked before closing: the data folder goes with the app.
    let database = app.demo_data_dir().join("deskbridge.sqlite3").is_file();
    app.close().await?;
    let (lanes, verified) = checked?;
    assert!(lanes.contains("upcoming"), "{lanes:?}");
    assert!(verified >= 3);
    assert!(database, "the demo keeps its own encrypted database");
    Ok(())
}
