//! The query of `GET /v1/appointments`: every filter and sort of the spec, paging, and their exact
//! wire encoding.
//!
//! Times are sent as `2024-01-01 00:00:00+00:00` (the spec's example), in UTC, to the second. A
//! window's minimum is rounded down and its maximum up, so a window is never narrowed: a resync
//! that walks adjacent windows sees an appointment on a boundary twice rather than never.

use jiff::Timestamp;

use super::error::RequestProblem;
use super::ids::{DeveloperPatientId, LocationId, PracticeId, ProviderId};
use super::model::AppointmentStatus;

/// Highest `page` Zocdoc accepts.
pub const MAX_PAGE: u32 = 10;
/// Highest `page_size` Zocdoc accepts.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Most appointments one query can reach through paging.
pub const MAX_RESULTS_PER_QUERY: u64 = 1_000;

request_enum! {
    /// `AppointmentSortByType`.
    SortBy {
        /// `start_time_utc` (Zocdoc's default).
        StartTimeUtc = "start_time_utc",
        /// `created_time_utc`.
        CreatedTimeUtc = "created_time_utc",
        /// `last_modified_time_utc`.
        LastModifiedTimeUtc = "last_modified_time_utc",
    }
}

request_enum! {
    /// `AppointmentSortDirectionType`.
    SortDirection {
        /// `ascending`.
        Ascending = "ascending",
        /// `descending` (Zocdoc's default).
        Descending = "descending",
    }
}

/// A range of instants; either end may be open. Both ends are inclusive at Zocdoc.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    /// `…_min`: exclude appointments before it.
    pub min: Option<Timestamp>,
    /// `…_max`: exclude appointments after it.
    pub max: Option<Timestamp>,
}

impl TimeWindow {
    /// From `min` to `max`.
    pub fn between(min: Timestamp, max: Timestamp) -> Self {
        Self {
            min: Some(min),
            max: Some(max),
        }
    }
}

/// The filters, sort and page of one `GET /v1/appointments`. `Default` is Zocdoc's default
/// query: everything, newest start time first, first page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// `statuses`: any of these (empty: all).
    pub statuses: Vec<AppointmentStatus>,
    /// `provider_ids`.
    pub provider_ids: Vec<ProviderId>,
    /// `location_ids`.
    pub location_ids: Vec<LocationId>,
    /// `practice_ids`.
    pub practice_ids: Vec<PracticeId>,
    /// `developer_patient_id`.
    pub developer_patient_id: Option<DeveloperPatientId>,
    /// `start_time_utc_min` / `_max`.
    pub start_time_utc: TimeWindow,
    /// `created_time_utc_min` / `_max`.
    pub created_time_utc: TimeWindow,
    /// `last_modified_time_utc_min` / `_max`.
    pub last_modified_time_utc: TimeWindow,
    /// `sort_by`.
    pub sort_by: Option<SortBy>,
    /// `sort_direction`.
    pub sort_direction: Option<SortDirection>,
    /// `page`: 0..=10.
    pub page: Option<u32>,
    /// `page_size`: 1..=100.
    pub page_size: Option<u32>,
}

impl ListQuery {
    /// The appointments modified within `window`, oldest change first: the resync's query.
    pub fn modified_within(window: TimeWindow) -> Self {
        Self {
            last_modified_time_utc: window,
            sort_by: Some(SortBy::LastModifiedTimeUtc),
            sort_direction: Some(SortDirection::Ascending),
            ..Self::default()
        }
    }

    /// The same query for another page.
    pub fn with_page(&self, page: u32) -> Self {
        Self {
            page: Some(page),
            ..self.clone()
        }
    }

    /// The query string (without `?`), parameters in the spec's order, absent ones left out.
    /// Refuses out-of-range paging, empty filter values, list values holding a comma (the list
    /// separator) and inverted windows.
    pub fn to_query_string(&self) -> Result<String, RequestProblem> {
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        if let Some(page) = self.page {
            if page > MAX_PAGE {
                return Err(RequestProblem::PageOutOfRange { page });
            }
            pairs.push(("page", page.to_string()));
        }
        if let Some(page_size) = self.page_size {
            if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
                return Err(RequestProblem::PageSizeOutOfRange { page_size });
            }
            pairs.push(("page_size", page_size.to_string()));
        }
        push_list(&mut pairs, "statuses", &self.statuses, |s| s.as_str())?;
        if let Some(id) = &self.developer_patient_id {
            if id.as_str().is_empty() {
                return Err(RequestProblem::BadFilterValue {
                    parameter: "developer_patient_id",
                });
            }
            pairs.push(("developer_patient_id", id.as_str().to_owned()));
        }
        if let Some(sort_by) = self.sort_by {
            pairs.push(("sort_by", sort_by.as_str().to_owned()));
        }
        if let Some(direction) = self.sort_direction {
            pairs.push(("sort_direction", direction.as_str().to_owned()));
        }
        push_list(&mut pairs, "practice_ids", &self.practice_ids, |id| {
            id.as_str()
        })?;
        push_list(&mut pairs, "provider_ids", &self.provider_ids, |id| {
            id.as_str()
        })?;
        push_list(&mut pairs, "location_ids", &self.location_ids, |id| {
            id.as_str()
        })?;
        push_window(&mut pairs, "start_time_utc", self.start_time_utc)?;
        push_window(&mut pairs, "created_time_utc", self.created_time_utc)?;
        push_window(
            &mut pairs,
            "last_modified_time_utc",
            self.last_modified_time_utc,
        )?;
        Ok(pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect::<Vec<_>>()
            .join("&"))
    }
}

/// Appends `name=a,b,c` when `values` is not empty.
fn push_list<T>(
    pairs: &mut Vec<(&'static str, String)>,
    name: &'static str,
    values: impl IntoIterator<Item = T>,
    text: impl Fn(&T) -> &str,
) -> Result<(), RequestProblem> {
    let mut joined = Vec::new();
    for value in values {
        let value = text(&value).to_owned();
        if value.is_empty() || value.contains(',') {
            return Err(RequestProblem::BadFilterValue { parameter: name });
        }
        joined.push(value);
    }
    if !joined.is_empty() {
        pairs.push((name, joined.join(",")));
    }
    Ok(())
}

/// Appends `<name>_min` (rounded down) and `<name>_max` (rounded up) when set.
fn push_window(
    pairs: &mut Vec<(&'static str, String)>,
    name: &'static str,
    window: TimeWindow,
) -> Result<(), RequestProblem> {
    if let (Some(min), Some(max)) = (window.min, window.max)
        && min > max
    {
        return Err(RequestProblem::InvertedWindow { parameter: name });
    }
    let (min_name, max_name) = match name {
        "start_time_utc" => ("start_time_utc_min", "start_time_utc_max"),
        "created_time_utc" => ("created_time_utc_min", "created_time_utc_max"),
        _ => ("last_modified_time_utc_min", "last_modified_time_utc_max"),
    };
    if let Some(min) = window.min {
        pairs.push((min_name, format_instant(floor_second(min))));
    }
    if let Some(max) = window.max {
        pairs.push((max_name, format_instant(ceil_second(max))));
    }
    Ok(())
}

/// `2024-01-01 00:00:00+00:00`: the spec's `format: instant` for query parameters.
pub(crate) fn format_instant(instant: Timestamp) -> String {
    instant.strftime("%Y-%m-%d %H:%M:%S+00:00").to_string()
}

/// The instant rounded down to a whole second.
fn floor_second(instant: Timestamp) -> Timestamp {
    let second = instant.as_second() - i64::from(instant.subsec_nanosecond() < 0);
    Timestamp::from_second(second).unwrap_or(instant)
}

/// The instant rounded up to a whole second.
fn ceil_second(instant: Timestamp) -> Timestamp {
    let second = instant.as_second() + i64::from(instant.subsec_nanosecond() > 0);
    Timestamp::from_second(second).unwrap_or(instant)
}

/// Percent-encodes a query value: unreserved characters, `,` (the list separator) and `:` stay;
/// everything else, space and `+` included, becomes `%XX`, so no server can read `+` as a space.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~,:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn default_query_is_empty() {
        assert_eq!(ListQuery::default().to_query_string().unwrap(), "");
    }

    #[test]
    fn every_filter_and_sort_is_encoded_exactly() {
        let query = ListQuery {
            statuses: vec![
                AppointmentStatus::PendingBooking,
                AppointmentStatus::Confirmed,
            ],
            provider_ids: vec!["pr_a".into(), "pr_b".into()],
            location_ids: vec!["lo_a".into()],
            practice_ids: vec!["pt_abc123-def456_wxyz7890".into()],
            developer_patient_id: Some("mrn 7+8".into()),
            start_time_utc: TimeWindow::between(
                at("2024-01-01T00:00:00Z"),
                at("2024-01-31T23:59:59Z"),
            ),
            created_time_utc: TimeWindow {
                min: Some(at("2023-12-01T05:06:07-05:00")),
                max: None,
            },
            last_modified_time_utc: TimeWindow {
                min: None,
                max: Some(at("2024-02-01T00:00:00Z")),
            },
            sort_by: Some(SortBy::LastModifiedTimeUtc),
            sort_direction: Some(SortDirection::Ascending),
            page: Some(3),
            page_size: Some(100),
        };
        assert_eq!(
            query.to_query_string().unwrap(),
            "page=3&page_size=100&statuses=pending_booking,confirmed\
             &developer_patient_id=mrn%207%2B8&sort_by=last_modified_time_utc\
             &sort_direction=ascending&practice_ids=pt_abc123-def456_wxyz7890\
             &provider_ids=pr_a,pr_b&location_ids=lo_a\
             &start_time_utc_min=2024-01-01%2000:00:00%2B00:00\
             &start_time_utc_max=2024-01-31%2023:59:59%2B00:00\
             &created_time_utc_min=2023-12-01%2010:06:07%2B00:00\
             &last_modified_time_utc_max=2024-02-01%2000:00:00%2B00:00"
        );
    }

    #[test]
    fn unknown_statuses_and_every_sort_value_are_sent_as_is() {
        let query = ListQuery {
            statuses: vec![AppointmentStatus::Other("arrived".to_owned())],
            ..ListQuery::default()
        };
        assert_eq!(query.to_query_string().unwrap(), "statuses=arrived");
        let sorts: Vec<_> = SortBy::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            sorts,
            [
                "start_time_utc",
                "created_time_utc",
                "last_modified_time_utc"
            ]
        );
        assert_eq!(SortDirection::Descending.to_string(), "descending");
    }

    #[test]
    fn windows_are_widened_to_whole_seconds() {
        let query = ListQuery::modified_within(TimeWindow::between(
            at("2024-01-01T10:00:00.900Z"),
            at("2024-01-01T11:00:00.100Z"),
        ));
        assert_eq!(
            query.to_query_string().unwrap(),
            "sort_by=last_modified_time_utc&sort_direction=ascending\
             &last_modified_time_utc_min=2024-01-01%2010:00:00%2B00:00\
             &last_modified_time_utc_max=2024-01-01%2011:00:01%2B00:00"
        );
        assert_eq!(
            floor_second(at("1969-12-31T23:59:59.5Z")),
            at("1969-12-31T23:59:59Z")
        );
        assert_eq!(
            ceil_second(at("1969-12-31T23:59:59.5Z")),
            at("1970-01-01T00:00:00Z")
        );
    }

    #[test]
    fn invalid_queries_are_refused_before_sending() {
        let refused = |query: ListQuery| query.to_query_string().unwrap_err();
        assert_eq!(
            refused(ListQuery::default().with_page(11)),
            RequestProblem::PageOutOfRange { page: 11 }
        );
        assert_eq!(
            refused(ListQuery {
                page_size: Some(0),
                ..ListQuery::default()
            }),
            RequestProblem::PageSizeOutOfRange { page_size: 0 }
        );
        assert_eq!(
            refused(ListQuery {
                page_size: Some(101),
                ..ListQuery::default()
            }),
            RequestProblem::PageSizeOutOfRange { page_size: 101 }
        );
        assert_eq!(
            refused(ListQuery {
                provider_ids: vec!["pr_a,pr_b".into()],
                ..ListQuery::default()
            }),
            RequestProblem::BadFilterValue {
                parameter: "provider_ids"
            }
        );
        assert_eq!(
            refused(ListQuery {
                developer_patient_id: Some("".into()),
                ..ListQuery::default()
            }),
            RequestProblem::BadFilterValue {
                parameter: "developer_patient_id"
            }
        );
        assert_eq!(
            refused(ListQuery {
                start_time_utc: TimeWindow::between(
                    at("2024-02-01T00:00:00Z"),
                    at("2024-01-01T00:00:00Z")
                ),
                ..ListQuery::default()
            }),
            RequestProblem::InvertedWindow {
                parameter: "start_time_utc"
            }
        );
        assert!(ListQuery::default().with_page(10).to_query_string().is_ok());
    }
}
