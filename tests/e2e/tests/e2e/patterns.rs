//! The manager's view on the demo's three weeks of history: the numbers on screen are the ones
//! `deskbridge-core` computes from the same encrypted database, read independently by this test.

use std::time::Duration;

use deskbridge_core::analytics::Query;
use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::KeyringSecrets;
use deskbridge_core::store::Store;
use deskbridge_e2e::{APP_IDENTIFIER, Launch};
use jiff::tz::TimeZone;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patterns_view_shows_what_the_store_holds() -> anyhow::Result<()> {
    // A day played in real time: the demo's "now" stays before the day's first appointment
    // while the test runs, so the figures hold still.
    let app = Launch::demo(43_200).start().await?;
    let shown = async {
        app.eventually(Duration::from_secs(60), || async {
            let message = app.text_of("resync-message").await?;
            Ok(message.contains("recovered").then_some(()))
        })
        .await?;
        app.by_test_id("nav-manager").await?.click().await?;
        let appointments: u32 = app
            .by_test_id("summary-appointments")
            .await?
            .text()
            .await?
            .trim()
            .parse()?;
        let range = app.by_test_id("manager-range").await?;
        let from = range.attr("data-from").await?.unwrap_or_default();
        let to = range.attr("data-to").await?.unwrap_or_default();
        let zone = range.attr("data-time-zone").await?.unwrap_or_default();
        let counts = app.by_test_id("summary-no-show-counts").await?;
        let no_show = (
            counts
                .attr("data-numerator")
                .await?
                .unwrap_or_default()
                .parse::<u32>()?,
            counts
                .attr("data-denominator")
                .await?
                .unwrap_or_default()
                .parse::<u32>()?,
        );
        app.screenshot("manager").await?;
        anyhow::Ok((appointments, from, to, zone, no_show))
    }
    .await;
    let expected = shown.as_ref().ok().map(|(_, from, to, zone, _)| {
        let store = Store::open(
            &app.data_home().join(APP_IDENTIFIER).join("demo"),
            Environment::Sandbox,
            &KeyringSecrets::with_service(format!("{}-demo", app.keyring_service)),
            &OsRandom,
        )?;
        let time_zone = TimeZone::get(zone)?;
        let query = Query::new(from.parse()?, to.parse()?, time_zone.clone());
        // The range ends on the demo's day, which starts at 07:00; nothing starts before 08:00.
        let now = to
            .parse::<jiff::civil::Date>()?
            .at(7, 30, 0, 0)
            .to_zoned_datetime(time_zone)?
            .timestamp();
        anyhow::Ok(store.patterns(&query, now)?)
    });
    app.close().await?;
    let (appointments, _, _, _, no_show) = shown?;
    let expected = expected.expect("computed when shown")?;
    assert!(
        appointments > 50,
        "the history has appointments: {appointments}"
    );
    assert_eq!(appointments, expected.overall.appointments);
    assert_eq!(
        no_show,
        (
            expected.overall.no_show.numerator,
            expected.overall.no_show.denominator
        )
    );
    Ok(())
}
