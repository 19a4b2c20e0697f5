//! Names for the directory ids an appointment carries (`provider_location_id`,
//! `visit_reason_id`), so that a card on the board shows "Ada Placeholder, MD · Midtown Office ·
//! Annual physical" instead of Zocdoc's ids.
//!
//! Names come from Zocdoc's directory reads and are cached in the store
//! (`directory_provider_locations`, `directory_visit_reasons`): [`fill_missing`] fetches only the
//! ids not cached or cached more than [`REFRESH_AFTER`] ago, [`names_for`] reads the cache.
//! Naming never blocks anything: an id Zocdoc does not know, or a failed fetch, leaves that card
//! with its ids. Names are not patient data, but only ids are logged.

use std::collections::{BTreeMap, BTreeSet};

use deskbridge_zocdoc::api::{Error as ApiError, ProviderLocationId, VisitReasonId};
use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, params};

use crate::appointments::StoredAppointment;
use crate::reader::AppointmentReader;
use crate::store::{Store, StoreError, format_timestamp, parse_timestamp};

/// How long a cached name is used before it is fetched again.
pub const REFRESH_AFTER: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The directory ids to name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryIds {
    /// `provider_location_id`s.
    pub provider_locations: BTreeSet<ProviderLocationId>,
    /// `visit_reason_id`s.
    pub visit_reasons: BTreeSet<VisitReasonId>,
}

impl DirectoryIds {
    /// The ids the appointments carry, each once.
    pub fn of<'a>(appointments: impl IntoIterator<Item = &'a StoredAppointment>) -> DirectoryIds {
        let mut ids = DirectoryIds::default();
        for appointment in appointments {
            ids.provider_locations
                .insert(appointment.provider_location_id.as_str().into());
            ids.visit_reasons
                .insert(appointment.visit_reason_id.as_str().into());
        }
        ids
    }

    /// The ids of every stored appointment, each once.
    pub fn stored(store: &Store) -> Result<DirectoryIds, StoreError> {
        let mut ids = DirectoryIds::default();
        let conn = store.conn();
        let mut provider_locations =
            conn.prepare_cached("SELECT DISTINCT provider_location_id FROM appointments")?;
        for id in provider_locations.query_map([], |row| row.get::<_, String>(0))? {
            ids.provider_locations.insert(id?.as_str().into());
        }
        let mut visit_reasons =
            conn.prepare_cached("SELECT DISTINCT visit_reason_id FROM appointments")?;
        for id in visit_reasons.query_map([], |row| row.get::<_, String>(0))? {
            ids.visit_reasons.insert(id?.as_str().into());
        }
        Ok(ids)
    }
}

/// The names of one provider location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderLocationNames {
    /// The provider, e.g. "Ada Placeholder, MD"; `None` when Zocdoc gave no name.
    pub provider_name: Option<String>,
    /// Where visits take place: the location's name (or its address when it has none), or the
    /// virtual location's name; `None` when Zocdoc gave neither.
    pub location_name: Option<String>,
}

/// The cached names of the ids asked for. An id without a name is absent: its card shows the id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryNames {
    /// Names per provider location.
    pub provider_locations: BTreeMap<ProviderLocationId, ProviderLocationNames>,
    /// Name per visit reason.
    pub visit_reasons: BTreeMap<VisitReasonId, String>,
}

/// What one [`fill_missing`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filled {
    /// Ids fetched and named.
    pub named: usize,
    /// Ids Zocdoc answered 404 for (cached as unknown until [`REFRESH_AFTER`]).
    pub not_found: usize,
    /// Ids whose fetch failed otherwise (not cached: tried again on the next call).
    pub failed: usize,
}

/// The cached names of `ids`, however old. Ids never fetched, or unknown to Zocdoc, are absent.
pub fn names_for(store: &Store, ids: &DirectoryIds) -> Result<DirectoryNames, StoreError> {
    let conn = store.conn();
    let mut names = DirectoryNames::default();
    let mut provider_location = conn.prepare_cached(
        "SELECT provider_name, location_name FROM directory_provider_locations
         WHERE provider_location_id = ?1",
    )?;
    for id in &ids.provider_locations {
        let row: Option<(Option<String>, Option<String>)> = provider_location
            .query_row([id.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if let Some((provider_name, location_name)) = row
            && (provider_name.is_some() || location_name.is_some())
        {
            names.provider_locations.insert(
                id.clone(),
                ProviderLocationNames {
                    provider_name,
                    location_name,
                },
            );
        }
    }
    let mut visit_reason = conn.prepare_cached(
        "SELECT name FROM directory_visit_reasons WHERE visit_reason_id = ?1 AND name IS NOT NULL",
    )?;
    for id in &ids.visit_reasons {
        let name: Option<String> = visit_reason
            .query_row([id.as_str()], |row| row.get(0))
            .optional()?;
        if let Some(name) = name {
            names.visit_reasons.insert(id.clone(), name);
        }
    }
    Ok(names)
}

/// Fetches through `reader` the names of the `ids` not cached, or cached before
/// `now - REFRESH_AFTER`, one call per id, and caches them. A 404 is cached as unknown; any other
/// failure is logged (ids only) and counted, and caches nothing. A failure that is not about one
/// id (credentials, rate limit, Zocdoc or the network down) ends the round: the remaining ids wait
/// for the next call. Only a database failure is an error. The store is taken `&mut` so that the
/// future can move between threads (a connection is not `Sync`).
pub async fn fill_missing<R: AppointmentReader>(
    store: &mut Store,
    reader: &R,
    ids: &DirectoryIds,
    now: Timestamp,
) -> Result<Filled, StoreError> {
    let stale_before = now - REFRESH_AFTER;
    let fetched_at = format_timestamp(now);
    let mut filled = Filled::default();
    for id in &ids.provider_locations {
        if is_fresh(store, Table::ProviderLocations, id.as_str(), stale_before)? {
            continue;
        }
        let names = match reader.provider_location(id).await {
            Ok(found) => {
                filled.named += 1;
                ProviderLocationNames {
                    provider_name: found.provider.display_name(),
                    location_name: found.location_name(),
                }
            }
            Err(error) => match judge(&error, id.as_str(), &mut filled) {
                Outcome::NotFound => ProviderLocationNames {
                    provider_name: None,
                    location_name: None,
                },
                Outcome::Skip => continue,
                Outcome::Stop => return Ok(filled),
            },
        };
        store.conn().execute(
            "INSERT INTO directory_provider_locations
                 (provider_location_id, provider_name, location_name, fetched_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (provider_location_id) DO UPDATE SET
                 provider_name = excluded.provider_name,
                 location_name = excluded.location_name,
                 fetched_at = excluded.fetched_at",
            params![
                id.as_str(),
                names.provider_name,
                names.location_name,
                fetched_at
            ],
        )?;
    }
    for id in &ids.visit_reasons {
        if is_fresh(store, Table::VisitReasons, id.as_str(), stale_before)? {
            continue;
        }
        let name = match reader.visit_reason(id).await {
            Ok(found) => {
                filled.named += 1;
                Some(found.name)
            }
            Err(error) => match judge(&error, id.as_str(), &mut filled) {
                Outcome::NotFound => None,
                Outcome::Skip => continue,
                Outcome::Stop => return Ok(filled),
            },
        };
        store.conn().execute(
            "INSERT INTO directory_visit_reasons (visit_reason_id, name, fetched_at)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (visit_reason_id) DO UPDATE SET
                 name = excluded.name, fetched_at = excluded.fetched_at",
            params![id.as_str(), name, fetched_at],
        )?;
    }
    if filled != Filled::default() {
        tracing::debug!(
            named = filled.named,
            not_found = filled.not_found,
            failed = filled.failed,
            "directory names fetched"
        );
    }
    Ok(filled)
}

/// The two cache tables.
#[derive(Debug, Clone, Copy)]
enum Table {
    ProviderLocations,
    VisitReasons,
}

/// Whether `id` is cached in `table` at or after `stale_before`.
fn is_fresh(
    store: &Store,
    table: Table,
    id: &str,
    stale_before: Timestamp,
) -> Result<bool, StoreError> {
    let sql = match table {
        Table::ProviderLocations => {
            "SELECT fetched_at FROM directory_provider_locations WHERE provider_location_id = ?1"
        }
        Table::VisitReasons => {
            "SELECT fetched_at FROM directory_visit_reasons WHERE visit_reason_id = ?1"
        }
    };
    let fetched_at: Option<String> = store
        .conn()
        .prepare_cached(sql)?
        .query_row([id], |row| row.get(0))
        .optional()?;
    Ok(fetched_at
        .as_deref()
        .and_then(parse_timestamp)
        .is_some_and(|fetched_at| fetched_at >= stale_before))
}

/// What a failed fetch means for the round.
enum Outcome {
    /// Zocdoc does not know the id: cache it as unknown.
    NotFound,
    /// This id could not be named: go on with the next.
    Skip,
    /// Nothing else will be named now: end the round.
    Stop,
}

/// Counts and logs a failed fetch of `id` (the error's `Display` holds ids and status codes only).
fn judge(error: &ApiError, id: &str, filled: &mut Filled) -> Outcome {
    if let ApiError::NotFound { .. } = error {
        filled.not_found += 1;
        tracing::info!(id, operation = %error.operation(), "Zocdoc's directory does not know this id");
        return Outcome::NotFound;
    }
    filled.failed += 1;
    tracing::warn!(id, error = %error, "directory name not fetched; the card shows the id");
    match error {
        ApiError::BadRequest { .. } | ApiError::Decode { .. } | ApiError::InvalidRequest { .. } => {
            Outcome::Skip
        }
        _ => Outcome::Stop,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use deskbridge_zocdoc::api::{Operation, ProviderLocationId, VisitReasonId};

    use super::*;
    use crate::testing::{
        FakeZocdoc, appointment, at, named_provider_location, server_error, store,
    };

    fn ids(provider_locations: &[&str], visit_reasons: &[&str]) -> DirectoryIds {
        DirectoryIds {
            provider_locations: provider_locations.iter().map(|id| (*id).into()).collect(),
            visit_reasons: visit_reasons.iter().map(|id| (*id).into()).collect(),
        }
    }

    fn directory() -> FakeZocdoc {
        let fake = FakeZocdoc::default();
        fake.put_provider_location(named_provider_location(
            "pr_a|lo_b",
            "Ada Placeholder, MD",
            Some("Midtown Office"),
        ));
        fake.put_provider_location(named_provider_location(
            "pr_a|lo_video",
            "Ada Placeholder, MD",
            None,
        ));
        fake.put_visit_reason("pc_d", "Annual physical");
        fake
    }

    #[test]
    fn the_ids_of_appointments_are_collected_once() {
        let first = StoredAppointment::from_api(&appointment("x", 0, 0));
        let mut second = first.clone();
        second.visit_reason_id = "pc_e".to_owned();
        let collected = DirectoryIds::of([&first, &second]);
        assert_eq!(collected, ids(&["pr_a|lo_b"], &["pc_d", "pc_e"]));
    }

    #[tokio::test]
    async fn missing_names_are_fetched_once_and_then_read_from_the_cache() {
        let (_dir, mut store) = store();
        let fake = directory();
        let wanted = ids(&["pr_a|lo_b", "pr_a|lo_video"], &["pc_d"]);
        assert_eq!(
            names_for(&store, &wanted).unwrap(),
            DirectoryNames::default()
        );

        let filled = fill_missing(&mut store, &fake, &wanted, at(0))
            .await
            .unwrap();
        assert_eq!(
            filled,
            Filled {
                named: 3,
                not_found: 0,
                failed: 0
            }
        );
        let names = names_for(&store, &wanted).unwrap();
        assert_eq!(
            names.provider_locations[&ProviderLocationId::new("pr_a|lo_b")],
            ProviderLocationNames {
                provider_name: Some("Ada Placeholder, MD".to_owned()),
                location_name: Some("Midtown Office".to_owned()),
            }
        );
        assert_eq!(
            names.provider_locations[&ProviderLocationId::new("pr_a|lo_video")].location_name,
            None,
            "a video visit without a location name"
        );
        assert_eq!(
            names.visit_reasons[&VisitReasonId::new("pc_d")],
            "Annual physical"
        );

        let again = fill_missing(&mut store, &fake, &wanted, at(3600))
            .await
            .unwrap();
        assert_eq!(again, Filled::default());
        assert_eq!(fake.directory_calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn names_older_than_a_week_are_fetched_again() {
        let (_dir, mut store) = store();
        let fake = directory();
        let wanted = ids(&["pr_a|lo_b"], &["pc_d"]);
        fill_missing(&mut store, &fake, &wanted, at(0))
            .await
            .unwrap();
        fake.put_visit_reason("pc_d", "Yearly physical");

        let week = REFRESH_AFTER.as_secs();
        fill_missing(&mut store, &fake, &wanted, at(week))
            .await
            .unwrap();
        assert_eq!(
            fake.directory_calls.load(Ordering::SeqCst),
            2,
            "a week old is fresh"
        );
        fill_missing(&mut store, &fake, &wanted, at(week + 1))
            .await
            .unwrap();
        assert_eq!(fake.directory_calls.load(Ordering::SeqCst), 4);
        let names = names_for(&store, &wanted).unwrap();
        assert_eq!(
            names.visit_reasons[&VisitReasonId::new("pc_d")],
            "Yearly physical"
        );
    }

    #[tokio::test]
    async fn an_unknown_id_is_cached_without_a_name() {
        let (_dir, mut store) = store();
        let fake = directory();
        let wanted = ids(&["pr_gone|lo_gone"], &["pc_gone", "pc_d"]);
        let filled = fill_missing(&mut store, &fake, &wanted, at(0))
            .await
            .unwrap();
        assert_eq!(
            filled,
            Filled {
                named: 1,
                not_found: 2,
                failed: 0
            }
        );
        let names = names_for(&store, &wanted).unwrap();
        assert!(names.provider_locations.is_empty(), "the card shows the id");
        assert_eq!(names.visit_reasons.len(), 1);
        fill_missing(&mut store, &fake, &wanted, at(60))
            .await
            .unwrap();
        assert_eq!(
            fake.directory_calls.load(Ordering::SeqCst),
            3,
            "not asked again within the week"
        );
    }

    #[tokio::test]
    async fn an_outage_ends_the_round_and_caches_nothing() {
        let (_dir, mut store) = store();
        let fake = directory();
        fake.directory_failures
            .lock()
            .unwrap()
            .push_back(server_error(Operation::GetProviderLocation));
        let wanted = ids(&["pr_a|lo_b", "pr_a|lo_video"], &["pc_d"]);
        let filled = fill_missing(&mut store, &fake, &wanted, at(0))
            .await
            .unwrap();
        assert_eq!(
            filled,
            Filled {
                named: 0,
                not_found: 0,
                failed: 1
            }
        );
        assert_eq!(fake.directory_calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            names_for(&store, &wanted).unwrap(),
            DirectoryNames::default()
        );

        let filled = fill_missing(&mut store, &fake, &wanted, at(60))
            .await
            .unwrap();
        assert_eq!(filled.named, 3, "the next round names everything");
    }

    #[tokio::test]
    async fn an_unreadable_answer_skips_only_its_id() {
        let (_dir, mut store) = store();
        let fake = directory();
        fake.directory_failures
            .lock()
            .unwrap()
            .push_back(ApiError::Decode {
                operation: Operation::GetProviderLocation,
                status: 200,
                problem: deskbridge_zocdoc::api::DecodeError::Missing {
                    field: "data.provider".to_owned(),
                },
            });
        let wanted = ids(&["pr_a|lo_b", "pr_a|lo_video"], &["pc_d"]);
        let filled = fill_missing(&mut store, &fake, &wanted, at(0))
            .await
            .unwrap();
        assert_eq!(
            filled,
            Filled {
                named: 2,
                not_found: 0,
                failed: 1
            }
        );
        let names = names_for(&store, &wanted).unwrap();
        assert!(
            !names
                .provider_locations
                .contains_key(&ProviderLocationId::new("pr_a|lo_b"))
        );
    }
}
