//! The manager's view: every figure of a range of days (core's `Store::patterns`) with labels,
//! percentages in words and each figure's definition, and the same numbers as a CSV file. Wire
//! types live here, beside their two commands; the figures themselves are core's.

use std::io::Write as _;
use std::path::PathBuf;

use deskbridge_core::analytics::{
    AnalyticsError, DEFINITIONS, Figures, Group, LeadTime, Notice, PatientKind, Patterns, Query,
    RangePreset, Rate,
};
use jiff::civil::{Date, Weekday};
use serde::Serialize;
use specta::Type;
use tauri::{AppHandle, Manager as _, State};

use crate::desk::Desk;
use crate::ipc::{ErrorCode, UiError};

/// Everything the manager's view shows for one range and filter.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PatternsView {
    /// The range's first day, `YYYY-MM-DD`, in the practice's time zone.
    pub(crate) from: String,
    /// The range's last day (included).
    pub(crate) to: String,
    /// The range in words, e.g. "Mar 1 – Mar 28, 2026".
    pub(crate) range_text: String,
    /// The practice's time zone, e.g. `America/New_York`.
    pub(crate) time_zone: String,
    /// The provider filter applied, when any.
    pub(crate) provider: Option<String>,
    /// The location filter applied, when any.
    pub(crate) location: Option<String>,
    /// The preset ranges as of the practice's today.
    pub(crate) presets: Vec<PresetView>,
    /// The provider filter's choices: every provider with appointments in the range.
    pub(crate) providers: Vec<String>,
    /// The location filter's choices.
    pub(crate) locations: Vec<String>,
    /// A rate resting on fewer appointments than this is marked too few to judge.
    pub(crate) too_few_below: u32,
    /// All appointments counted.
    pub(crate) overall: FiguresView,
    /// Appointments of the range not counted (failed, never confirmed, unknown status).
    pub(crate) left_out: u32,
    /// How late cancellations came, by band.
    pub(crate) cancellation_notice: Vec<ShareRow>,
    /// How late reschedules came, by band.
    pub(crate) reschedule_notice: Vec<ShareRow>,
    /// Rebookings after cancellations and no-shows.
    pub(crate) rebook: RebookView,
    /// 168 cells: Monday 0:00 first, hour by hour.
    pub(crate) by_weekday_hour: Vec<CellView>,
    pub(crate) by_provider: Vec<GroupRow>,
    pub(crate) by_location: Vec<GroupRow>,
    pub(crate) by_visit_reason: Vec<GroupRow>,
    /// New, existing, not said.
    pub(crate) by_patient_type: Vec<GroupRow>,
    /// Shortest lead time first, then unknown.
    pub(crate) by_lead_time: Vec<GroupRow>,
    /// Week by week, oldest first.
    pub(crate) by_week: Vec<GroupRow>,
    /// Each figure's definition in plain words (core's `DEFINITIONS`), for the help text.
    pub(crate) definitions: Vec<DefinitionView>,
}

/// A preset range of days.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PresetView {
    pub(crate) id: PresetId,
    /// e.g. "Last 4 weeks".
    pub(crate) label: String,
    pub(crate) from: String,
    pub(crate) to: String,
}

/// The preset ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PresetId {
    FourWeeks,
    Quarter,
    Year,
}

/// A share with the counts it rests on.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RateView {
    pub(crate) numerator: u32,
    pub(crate) denominator: u32,
    /// e.g. "12.5%"; "—" when there is nothing to divide by.
    pub(crate) percent: String,
    /// Fewer than `tooFewBelow` appointments: too few to judge.
    pub(crate) too_few: bool,
}

/// The figures of one group of appointments.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FiguresView {
    pub(crate) appointments: u32,
    pub(crate) no_show: RateView,
    pub(crate) cancellation: RateView,
    pub(crate) reschedule: RateView,
}

/// One row of a breakdown (a bar of its chart, a row of its table).
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupRow {
    /// Stable key: the id, the band, or the week's Monday (`YYYY-MM-DD`).
    pub(crate) key: String,
    /// What the row is called, e.g. "pr_12", "1–2 days", "Week of Mar 2".
    pub(crate) label: String,
    pub(crate) figures: FiguresView,
}

/// One cell of the weekday × hour heatmap.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CellView {
    /// 1 = Monday … 7 = Sunday.
    pub(crate) weekday: u8,
    /// 0 … 23 on the practice's clock.
    pub(crate) hour: u8,
    /// e.g. "Monday".
    pub(crate) weekday_label: String,
    /// e.g. "9 AM".
    pub(crate) hour_label: String,
    pub(crate) figures: FiguresView,
}

/// One band of a notice breakdown.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShareRow {
    pub(crate) key: String,
    /// e.g. "Less than 24 hours".
    pub(crate) label: String,
    pub(crate) share: RateView,
}

/// Rebookings after cancellations and no-shows.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RebookView {
    pub(crate) all: RateView,
    pub(crate) after_cancellation: RateView,
    pub(crate) after_no_show: RateView,
    /// Left out: no developer patient id to match by.
    pub(crate) without_patient_id: u32,
    /// Left out: their 14 days have not passed yet.
    pub(crate) window_open: u32,
}

/// One figure's definition.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DefinitionView {
    /// e.g. `no_show_rate`.
    pub(crate) id: String,
    /// What the figure counts, in plain words.
    pub(crate) words: String,
}

/// Every figure of the days `from` to `to` (`YYYY-MM-DD`, both included, in the practice's time
/// zone; both empty: the last 4 weeks), for one provider and one location when given.
#[tauri::command]
#[specta::specta]
pub(crate) async fn practice_patterns(
    desk: State<'_, Desk>,
    from: String,
    to: String,
    provider: Option<String>,
    location: Option<String>,
) -> Result<PatternsView, UiError> {
    view(&desk, &from, &to, provider, location).await
}

/// Writes the figures of the same arguments as `practice_patterns` as CSV to `path`, or, when no
/// path is given, where the person chooses in a save dialog. Answers where it was written (`.csv`
/// added when missing), nothing when the dialog was cancelled. The file holds counts and ids of
/// providers, locations and visit reasons, no patient data.
#[tauri::command]
#[specta::specta]
pub(crate) async fn export_patterns_csv(
    app: AppHandle,
    desk: State<'_, Desk>,
    path: Option<String>,
    from: String,
    to: String,
    provider: Option<String>,
    location: Option<String>,
) -> Result<Option<String>, UiError> {
    let view = view(&desk, &from, &to, provider, location).await?;
    let path = match path {
        Some(path) => PathBuf::from(path),
        None => {
            match choose_path(app, format!("deskbridge-{}-to-{}.csv", view.from, view.to)).await? {
                Some(path) => path,
                None => return Ok(None),
            }
        }
    };
    let path = with_csv_extension(path);
    write_file(&path, &csv(&view)).map_err(|error| {
        UiError::new(
            ErrorCode::FileNotSaved,
            format!(
                "The file could not be saved as {} ({error}). Choose another folder.",
                path.display()
            ),
        )
    })?;
    Ok(Some(path.display().to_string()))
}

async fn view(
    desk: &Desk,
    from: &str,
    to: &str,
    provider: Option<String>,
    location: Option<String>,
) -> Result<PatternsView, UiError> {
    let time_zone = &desk.time_zone;
    let today = desk.clock.now().to_zoned_datetime(time_zone.clone()).date();
    let (from, to) = if from.is_empty() && to.is_empty() {
        RangePreset::LastFourWeeks.days(today)
    } else {
        (day(from)?, day(to)?)
    };
    let provider = provider.filter(|text| !text.is_empty());
    let location = location.filter(|text| !text.is_empty());
    let query = Query {
        providers: provider.clone().map(|provider| vec![provider]),
        locations: location.clone().map(|location| vec![location]),
        ..Query::new(from, to, time_zone.clone())
    };
    let store = desk
        .database
        .as_ref()
        .map_err(|problem| UiError::new(problem.code, problem.message.clone()))?;
    let patterns = store
        .lock()
        .await
        .patterns(&query, desk.clock.now())
        .map_err(analytics_error)?;
    Ok(patterns_view(
        &patterns,
        today,
        time_zone.iana_name().unwrap_or("the computer's time zone"),
        provider,
        location,
    ))
}

fn day(text: &str) -> Result<Date, UiError> {
    text.parse().map_err(|_| {
        UiError::new(
            ErrorCode::InvalidRequest,
            format!("\u{201c}{text}\u{201d} is not a date."),
        )
    })
}

fn analytics_error(error: AnalyticsError) -> UiError {
    match error {
        AnalyticsError::EmptyRange { .. } => UiError::new(
            ErrorCode::InvalidRequest,
            "The range ends before it starts: choose a last day on or after the first.",
        ),
        AnalyticsError::OutOfRange { .. } => UiError::new(
            ErrorCode::InvalidRequest,
            "Those days are too far from today to be shown.",
        ),
        AnalyticsError::Store(_) | AnalyticsError::UnreadableTime { .. } => UiError::new(
            ErrorCode::DatabaseUnavailable,
            format!("The encrypted database could not be read ({error}). Restart Deskbridge."),
        ),
    }
}

/// The native save dialog (the dialog plugin, registered on first use), on a thread of its own
/// while it waits for the person.
async fn choose_path(app: AppHandle, suggested: String) -> Result<Option<PathBuf>, UiError> {
    use tauri_plugin_dialog::DialogExt as _;

    let unavailable = |error: String| {
        UiError::new(
            ErrorCode::FileNotSaved,
            format!("The save dialog could not open ({error})."),
        )
    };
    if app
        .try_state::<tauri_plugin_dialog::Dialog<tauri::Wry>>()
        .is_none()
    {
        app.plugin(tauri_plugin_dialog::init())
            .map_err(|error| unavailable(error.to_string()))?;
    }
    let chosen = tauri::async_runtime::spawn_blocking(move || {
        let mut dialog = app
            .dialog()
            .file()
            .set_title("Export the figures as CSV")
            .add_filter("CSV", &["csv"])
            .set_file_name(suggested);
        if let Some(window) = app.get_webview_window("main") {
            dialog = dialog.set_parent(&window);
        }
        dialog.blocking_save_file()
    })
    .await
    .map_err(|error| unavailable(error.to_string()))?;
    chosen
        .map(|path| {
            path.into_path()
                .map_err(|error| unavailable(error.to_string()))
        })
        .transpose()
}

fn with_csv_extension(path: PathBuf) -> PathBuf {
    let has_csv = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("csv"));
    if has_csv {
        path
    } else {
        let mut name = path.into_os_string();
        name.push(".csv");
        PathBuf::from(name)
    }
}

/// Writes `text` to `path` whole or not at all: a file beside it, renamed over it.
fn write_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let folder = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or_else(|| std::path::Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(folder)?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

fn patterns_view(
    patterns: &Patterns,
    today: Date,
    time_zone: &str,
    provider: Option<String>,
    location: Option<String>,
) -> PatternsView {
    let groups = |groups: &[Group]| -> Vec<GroupRow> {
        groups
            .iter()
            .map(|group| GroupRow {
                key: group.key.clone().unwrap_or_default(),
                label: group.key.clone().unwrap_or_else(|| "None given".to_owned()),
                figures: figures(&group.figures),
            })
            .collect()
    };
    PatternsView {
        from: patterns.from.to_string(),
        to: patterns.to.to_string(),
        range_text: range_text(patterns.from, patterns.to),
        time_zone: time_zone.to_owned(),
        provider,
        location,
        presets: RangePreset::ALL
            .into_iter()
            .map(|preset| {
                let (from, to) = preset.days(today);
                let (id, label) = match preset {
                    RangePreset::LastFourWeeks => (PresetId::FourWeeks, "Last 4 weeks"),
                    RangePreset::LastQuarter => (PresetId::Quarter, "Last quarter"),
                    RangePreset::LastYear => (PresetId::Year, "Last year"),
                };
                PresetView {
                    id,
                    label: label.to_owned(),
                    from: from.to_string(),
                    to: to.to_string(),
                }
            })
            .collect(),
        providers: patterns.providers.clone(),
        locations: patterns.locations.clone(),
        too_few_below: patterns.too_few_below,
        overall: figures(&patterns.overall),
        left_out: patterns.left_out,
        cancellation_notice: notice(&patterns.cancellation_notice),
        reschedule_notice: notice(&patterns.reschedule_notice),
        rebook: RebookView {
            all: rate(&patterns.rebook.all),
            after_cancellation: rate(&patterns.rebook.after_cancellation),
            after_no_show: rate(&patterns.rebook.after_no_show),
            without_patient_id: patterns.rebook.without_patient_id,
            window_open: patterns.rebook.window_open,
        },
        by_weekday_hour: patterns
            .by_weekday_hour
            .iter()
            .map(|cell| CellView {
                weekday: u8::try_from(cell.weekday).unwrap_or(1),
                hour: u8::try_from(cell.hour).unwrap_or(0),
                weekday_label: weekday_name(cell.weekday).to_owned(),
                hour_label: hour_label(cell.hour),
                figures: figures(&cell.figures),
            })
            .collect(),
        by_provider: groups(&patterns.by_provider),
        by_location: groups(&patterns.by_location),
        by_visit_reason: groups(&patterns.by_visit_reason),
        by_patient_type: patterns
            .by_patient_type
            .iter()
            .map(|group| {
                let (key, label) = match group.patient_type {
                    Some(PatientKind::New) => ("new", "New patients"),
                    Some(PatientKind::Existing) => ("existing", "Existing patients"),
                    None => ("not_said", "Not said"),
                };
                GroupRow {
                    key: key.to_owned(),
                    label: label.to_owned(),
                    figures: figures(&group.figures),
                }
            })
            .collect(),
        by_lead_time: patterns
            .by_lead_time
            .iter()
            .map(|group| {
                let (key, label) = lead_time_words(group.lead_time);
                GroupRow {
                    key: key.to_owned(),
                    label: label.to_owned(),
                    figures: figures(&group.figures),
                }
            })
            .collect(),
        by_week: patterns
            .by_week
            .iter()
            .map(|week| GroupRow {
                key: week.monday.to_string(),
                label: format!("Week of {}", week.monday.strftime("%b %-d, %Y")),
                figures: figures(&week.figures),
            })
            .collect(),
        definitions: DEFINITIONS
            .iter()
            .map(|definition| DefinitionView {
                id: definition.id.to_owned(),
                words: definition.words.to_owned(),
            })
            .collect(),
    }
}

fn rate(rate: &Rate) -> RateView {
    RateView {
        numerator: rate.numerator,
        denominator: rate.denominator,
        percent: rate.value.map_or_else(
            || "\u{2014}".to_owned(),
            |value| format!("{:.1}%", value * 100.0),
        ),
        too_few: rate.too_few,
    }
}

fn figures(figures: &Figures) -> FiguresView {
    FiguresView {
        appointments: figures.appointments,
        no_show: rate(&figures.no_show),
        cancellation: rate(&figures.cancellation),
        reschedule: rate(&figures.reschedule),
    }
}

fn notice(notice: &Notice) -> Vec<ShareRow> {
    [
        (
            "under_24_hours",
            "Less than 24 hours",
            &notice.under_24_hours,
        ),
        (
            "one_to_three_days",
            "1 to 3 days",
            &notice.one_to_three_days,
        ),
        (
            "over_three_days",
            "More than 3 days",
            &notice.over_three_days,
        ),
        ("unknown", "Not known", &notice.unknown),
    ]
    .into_iter()
    .map(|(key, label, share)| ShareRow {
        key: key.to_owned(),
        label: label.to_owned(),
        share: rate(share),
    })
    .collect()
}

fn lead_time_words(lead_time: LeadTime) -> (&'static str, &'static str) {
    match lead_time {
        LeadTime::SameDay => ("same_day", "Same day"),
        LeadTime::Days1To2 => ("days_1_to_2", "1\u{2013}2 days"),
        LeadTime::Days3To7 => ("days_3_to_7", "3\u{2013}7 days"),
        LeadTime::Days8To14 => ("days_8_to_14", "8\u{2013}14 days"),
        LeadTime::Days15To30 => ("days_15_to_30", "15\u{2013}30 days"),
        LeadTime::Over30Days => ("over_30_days", "More than 30 days"),
        LeadTime::Unknown => ("unknown", "Not known"),
    }
}

fn weekday_name(weekday: i8) -> &'static str {
    match Weekday::from_monday_one_offset(weekday) {
        Ok(Weekday::Monday) => "Monday",
        Ok(Weekday::Tuesday) => "Tuesday",
        Ok(Weekday::Wednesday) => "Wednesday",
        Ok(Weekday::Thursday) => "Thursday",
        Ok(Weekday::Friday) => "Friday",
        Ok(Weekday::Saturday) => "Saturday",
        Ok(Weekday::Sunday) | Err(_) => "Sunday",
    }
}

/// `9 AM`, `12 PM`, `12 AM`.
fn hour_label(hour: i8) -> String {
    let twelve = match hour % 12 {
        0 => 12,
        other => other,
    };
    format!("{twelve} {}", if hour < 12 { "AM" } else { "PM" })
}

/// `Mar 1 – Mar 28, 2026`; `Dec 1, 2025 – Feb 28, 2026` across years.
fn range_text(from: Date, to: Date) -> String {
    if from.year() == to.year() {
        format!(
            "{} \u{2013} {}",
            from.strftime("%b %-d"),
            to.strftime("%b %-d, %Y")
        )
    } else {
        format!(
            "{} \u{2013} {}",
            from.strftime("%b %-d, %Y"),
            to.strftime("%b %-d, %Y")
        )
    }
}

/// The view as CSV: one row per number, with its section, group and figure named as the UI
/// names them. Fields are quoted when they hold a comma, quote or line break, and text that a
/// spreadsheet would take for a formula is prefixed with `'`.
fn csv(view: &PatternsView) -> String {
    let text = |fields: [&str; 7]| fields.map(str::to_owned);
    let count_row = |section: &str, group: &str, figure: &str, count: u32| {
        text([section, group, figure, &count.to_string(), "", "", ""])
    };
    let rate_row = |section: &str, group: &str, figure: &str, rate: &RateView| {
        let too_few = if rate.too_few { "yes" } else { "no" };
        let (count, out_of) = (rate.numerator.to_string(), rate.denominator.to_string());
        text([
            section,
            group,
            figure,
            &count,
            &out_of,
            &rate.percent,
            too_few,
        ])
    };
    let figure_rows = |section: &str, group: &str, figures: &FiguresView| {
        [
            count_row(section, group, "Appointments", figures.appointments),
            rate_row(section, group, "No-show rate", &figures.no_show),
            rate_row(section, group, "Cancellation rate", &figures.cancellation),
            rate_row(section, group, "Reschedule rate", &figures.reschedule),
        ]
    };

    let range = format!(
        "{} to {} ({}); provider: {}; location: {}",
        view.from,
        view.to,
        view.time_zone,
        view.provider.as_deref().unwrap_or("all"),
        view.location.as_deref().unwrap_or("all"),
    );
    let mut rows = vec![
        text([
            "section",
            "group",
            "figure",
            "count",
            "out_of",
            "percent",
            "too_few_to_judge",
        ]),
        text(["Range", &range, "", "", "", "", ""]),
    ];
    rows.extend(figure_rows("Overall", "All appointments", &view.overall));
    rows.push(count_row("Overall", "", "Not counted", view.left_out));
    let sections: [(&str, &[GroupRow]); 6] = [
        ("By provider", &view.by_provider),
        ("By location", &view.by_location),
        ("By visit reason", &view.by_visit_reason),
        ("By patient type", &view.by_patient_type),
        ("By booking lead time", &view.by_lead_time),
        ("Week by week", &view.by_week),
    ];
    for (section, groups) in sections {
        for group in groups {
            rows.extend(figure_rows(section, &group.label, &group.figures));
        }
    }
    for cell in &view.by_weekday_hour {
        let group = format!("{} {}", cell.weekday_label, cell.hour_label);
        rows.extend(figure_rows("By weekday and hour", &group, &cell.figures));
    }
    for (section, bands) in [
        ("Cancellation notice", &view.cancellation_notice),
        ("Reschedule notice", &view.reschedule_notice),
    ] {
        for band in bands {
            rows.push(rate_row(section, &band.label, "Share", &band.share));
        }
    }
    for (group, rate) in [
        ("Cancelled or no-show", &view.rebook.all),
        ("Cancelled", &view.rebook.after_cancellation),
        ("No-show", &view.rebook.after_no_show),
    ] {
        rows.push(rate_row("Rebookings", group, "Rebook rate", rate));
    }
    rows.push(count_row(
        "Rebookings",
        "",
        "Left out: no patient id",
        view.rebook.without_patient_id,
    ));
    rows.push(count_row(
        "Rebookings",
        "",
        "Left out: 14 days not yet passed",
        view.rebook.window_open,
    ));
    rows.iter()
        .map(|row| {
            let fields: Vec<String> = row.iter().map(|field| csv_field(field)).collect();
            fields.join(",") + "\r\n"
        })
        .collect()
}

/// One CSV field: quoted (quotes doubled) when it holds a comma, quote or line break; text a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) gets a
/// leading `'`.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use deskbridge_core::analytics::Facts;
    use jiff::Timestamp;
    use jiff::civil::date;
    use jiff::tz::TimeZone;

    use super::*;

    fn patterns() -> Patterns {
        let query = Query {
            providers: Some(vec!["pr_a".to_owned()]),
            ..Query::new(date(2026, 3, 1), date(2026, 3, 31), TimeZone::UTC)
        };
        let now: Timestamp = "2026-04-01T00:00:00Z".parse().unwrap();
        Patterns::compute(&Facts::default(), &query, now).unwrap()
    }

    #[test]
    fn the_view_names_every_row_and_carries_every_definition() {
        let view = patterns_view(
            &patterns(),
            date(2026, 3, 31),
            "UTC",
            Some("pr_a".to_owned()),
            None,
        );
        assert_eq!(view.range_text, "Mar 1 \u{2013} Mar 31, 2026");
        assert_eq!(view.overall.no_show.percent, "\u{2014}");
        assert!(view.overall.no_show.too_few);
        assert_eq!(view.by_weekday_hour.len(), 168);
        assert_eq!(view.by_weekday_hour[0].weekday_label, "Monday");
        assert_eq!(view.by_weekday_hour[0].hour_label, "12 AM");
        assert_eq!(view.by_weekday_hour[13].hour_label, "1 PM");
        assert_eq!(view.by_week[0].label, "Week of Feb 23, 2026");
        assert_eq!(view.by_lead_time[1].label, "1\u{2013}2 days");
        assert_eq!(view.presets[1].from, "2026-01-01");
        assert_eq!(view.definitions.len(), DEFINITIONS.len());
        assert_eq!(view.cancellation_notice.len(), 4);
    }

    #[test]
    fn rates_read_as_percentages_with_one_decimal() {
        assert_eq!(rate(&Rate::new(1, 8)).percent, "12.5%");
        assert_eq!(rate(&Rate::new(2, 3)).percent, "66.7%");
        assert_eq!(rate(&Rate::new(0, 0)).percent, "\u{2014}");
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("pr_a"), "pr_a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-x,y"), "\"'-x,y\"");
    }

    #[test]
    fn the_csv_has_one_row_per_number_and_a_header() {
        let view = patterns_view(&patterns(), date(2026, 3, 31), "UTC", None, None);
        let text = csv(&view);
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(
            lines[0],
            "section,group,figure,count,out_of,percent,too_few_to_judge"
        );
        assert_eq!(
            lines[1],
            "Range,2026-03-01 to 2026-03-31 (UTC); provider: all; location: all,,,,,"
        );
        assert_eq!(lines[2], "Overall,All appointments,Appointments,0,,,");
        assert_eq!(
            lines[3],
            "Overall,All appointments,No-show rate,0,0,\u{2014},yes"
        );
        assert!(lines.contains(&"By weekday and hour,Monday 9 AM,Appointments,0,,,"));
        // Header, range, overall (4 + not counted), patient types (3 × 4), lead times (7 × 4),
        // weeks (6 × 4), 168 cells × 4, notices (2 × 4), rebook (3 + 2).
        assert_eq!(lines.len(), 2 + 5 + 12 + 28 + 24 + 672 + 8 + 5);
        // A label with a comma is quoted.
        assert!(lines.contains(&"Week by week,\"Week of Feb 23, 2026\",Appointments,0,,,"));
        assert!(
            lines
                .iter()
                .filter(|line| !line.contains('"'))
                .all(|line| line.split(',').count() == 7)
        );
    }

    #[test]
    fn an_export_gets_the_csv_extension_and_replaces_whole() {
        assert_eq!(
            with_csv_extension(PathBuf::from("/tmp/figures")),
            PathBuf::from("/tmp/figures.csv")
        );
        assert_eq!(
            with_csv_extension(PathBuf::from("/tmp/figures.CSV")),
            PathBuf::from("/tmp/figures.CSV")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("figures.csv");
        write_file(&path, "old").unwrap();
        write_file(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
