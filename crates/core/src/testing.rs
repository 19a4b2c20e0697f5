//! Fixtures shared by this crate's unit tests: a store in a temporary folder, constructed
//! appointments, and a fake Zocdoc reader that lists and pages like Zocdoc (1,000 per query) and
//! answers directory reads from memory.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use deskbridge_zocdoc::api::{
    Appointment, AppointmentId, AppointmentStatus, ConfirmationType, Error, ListQuery, Location,
    MAX_RESULTS_PER_QUERY, OffsetTime, Operation, Page, Participants, Provider, ProviderLocation,
    ProviderLocationId, ProviderLocationType, VisitReason, VisitReasonId,
};
use jiff::Timestamp;
use jiff::tz::Offset;
use tempfile::TempDir;

use crate::environment::Environment;
use crate::random::OsRandom;
use crate::reader::AppointmentReader;
use crate::resync::CancelToken;
use crate::secrets::MemorySecrets;
use crate::store::Store;

/// A new store in its own temporary folder (kept alive by the returned `TempDir`).
pub(crate) fn store() -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = Store::open(
        dir.path(),
        Environment::Sandbox,
        &MemorySecrets::new(),
        &OsRandom,
    )
    .unwrap();
    (dir, store)
}

/// The instant `second` seconds after 2026-01-01T00:00:00Z.
pub(crate) fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + second).unwrap()
}

/// A confirmed appointment starting at `at(start)`, last modified at `at(modified)`.
pub(crate) fn appointment(id: &str, start: i64, modified: i64) -> Appointment {
    Appointment {
        appointment_id: AppointmentId::new(id),
        appointment_status: AppointmentStatus::Confirmed,
        developer_patient_id: None,
        is_provider_resource: false,
        location_phone_number: Some("2125550100".to_owned()),
        location_phone_extension: None,
        waiting_room_path: None,
        confirmation_type: ConfirmationType::Auto,
        start_time: OffsetTime::new(at(start), Offset::UTC),
        created_time_utc: Some(at(0)),
        last_modified_time_utc: Some(at(modified)),
        provider_location_id: "pr_a|lo_b".into(),
        practice_id: Some("pt_c".into()),
        visit_reason_id: "pc_d".into(),
        visit_type: None,
        patient_type: None,
        notes: Some("knee pain".to_owned()),
        cancellation_reason: None,
        source: Some("Zocdoc Marketplace".to_owned()),
    }
}

/// Answers from memory like Zocdoc: sorted by last-modified ascending (then id), at most 1,000
/// per query, `total_count` the reachable count. Failures can be queued.
#[derive(Debug, Default)]
pub(crate) struct FakeZocdoc {
    pub(crate) appointments: Mutex<BTreeMap<String, Appointment>>,
    pub(crate) get_failures: Mutex<VecDeque<Error>>,
    /// Fail the list call with this number (1 for the first) with a 5xx.
    pub(crate) fail_list_call: Mutex<Option<u32>>,
    /// Cancel this token while answering the list call with this number.
    pub(crate) cancel_on_list_call: Mutex<Option<(u32, CancelToken)>>,
    pub(crate) list_calls: AtomicU32,
    pub(crate) get_calls: AtomicU32,
    pub(crate) provider_locations: Mutex<BTreeMap<String, ProviderLocation>>,
    pub(crate) visit_reasons: Mutex<BTreeMap<String, VisitReason>>,
    /// Failures of the next directory reads, in order.
    pub(crate) directory_failures: Mutex<VecDeque<Error>>,
    /// Directory reads made (provider locations and visit reasons).
    pub(crate) directory_calls: AtomicU32,
}

impl FakeZocdoc {
    pub(crate) fn with(appointments: impl IntoIterator<Item = Appointment>) -> Self {
        let fake = FakeZocdoc::default();
        for appointment in appointments {
            fake.put(appointment);
        }
        fake
    }

    pub(crate) fn put(&self, appointment: Appointment) {
        self.appointments
            .lock()
            .unwrap()
            .insert(appointment.appointment_id.as_str().to_owned(), appointment);
    }

    pub(crate) fn put_provider_location(&self, place: ProviderLocation) {
        self.provider_locations
            .lock()
            .unwrap()
            .insert(place.provider_location_id.as_str().to_owned(), place);
    }

    pub(crate) fn put_visit_reason(&self, id: &str, name: &str) {
        self.visit_reasons.lock().unwrap().insert(
            id.to_owned(),
            VisitReason {
                visit_reason_id: VisitReasonId::new(id),
                name: name.to_owned(),
            },
        );
    }

    /// Counts a directory read and takes its queued failure, if any.
    fn directory_read(&self) -> Option<Error> {
        self.directory_calls.fetch_add(1, Ordering::SeqCst);
        self.directory_failures.lock().unwrap().pop_front()
    }

    fn page(&self, query: &ListQuery) -> Result<Page, Error> {
        let call = self.list_calls.fetch_add(1, Ordering::SeqCst) + 1;
        if *self.fail_list_call.lock().unwrap() == Some(call) {
            return Err(server_error(Operation::ListAppointments));
        }
        if let Some((at_call, token)) = &*self.cancel_on_list_call.lock().unwrap()
            && *at_call == call
        {
            token.cancel();
        }
        let floor = |t: Timestamp| Timestamp::from_second(t.as_second()).unwrap();
        let ceil = |t: Timestamp| {
            let f = floor(t);
            if f == t {
                t
            } else {
                Timestamp::from_second(t.as_second() + 1).unwrap()
            }
        };
        let within = |value: Option<Timestamp>, window: deskbridge_zocdoc::api::TimeWindow| {
            let Some(value) = value else {
                return window.min.is_none() && window.max.is_none();
            };
            window.min.is_none_or(|min| value >= floor(min))
                && window.max.is_none_or(|max| value <= ceil(max))
        };
        let mut matches: Vec<Appointment> = self
            .appointments
            .lock()
            .unwrap()
            .values()
            .filter(|a| within(a.last_modified_time_utc, query.last_modified_time_utc))
            .filter(|a| within(Some(a.start_time.timestamp()), query.start_time_utc))
            .cloned()
            .collect();
        matches.sort_by(|a, b| {
            a.last_modified_time_utc
                .cmp(&b.last_modified_time_utc)
                .then_with(|| a.appointment_id.as_str().cmp(b.appointment_id.as_str()))
        });
        let reachable = matches.len().min(MAX_RESULTS_PER_QUERY as usize);
        let page = query.page.unwrap_or(0) as usize;
        let size = query.page_size.unwrap_or(100) as usize;
        let start = (page * size).min(reachable);
        let end = (start + size).min(reachable);
        Ok(Page {
            request_id: None,
            page: page as u32,
            page_size: size as u32,
            total_count: reachable as u64,
            next_url: (end < reachable).then(|| "next".to_owned()),
            appointments: matches[start..end].to_vec(),
        })
    }
}

/// A provider location whose provider has `provider_name` as its full name, at a location named
/// `location_name` (`None`: a virtual provider location without a name).
pub(crate) fn named_provider_location(
    id: &str,
    provider_name: &str,
    location_name: Option<&str>,
) -> ProviderLocation {
    ProviderLocation {
        provider_location_id: ProviderLocationId::new(id),
        provider_location_type: if location_name.is_some() {
            ProviderLocationType::InPersonProvider
        } else {
            ProviderLocationType::VirtualProvider
        },
        provider: Provider {
            provider_id: None,
            first_name: None,
            last_name: None,
            title: None,
            full_name: Some(provider_name.to_owned()),
        },
        location: location_name.map(|name| Location {
            location_name: Some(name.to_owned()),
            address1: "1 Example St".to_owned(),
            city: "New York".to_owned(),
        }),
        virtual_location: None,
    }
}

/// A 503 after the client's retries.
pub(crate) fn server_error(operation: Operation) -> Error {
    Error::Server {
        operation,
        status: 503,
        attempts: 4,
        body: None,
    }
}

impl AppointmentReader for FakeZocdoc {
    fn appointment(
        &self,
        id: &AppointmentId,
    ) -> impl Future<Output = Result<Appointment, Error>> + Send {
        self.get_calls.fetch_add(1, Ordering::SeqCst);
        let failure = self.get_failures.lock().unwrap().pop_front();
        let found = self.appointments.lock().unwrap().get(id.as_str()).cloned();
        let id = id.clone();
        async move {
            if let Some(error) = failure {
                return Err(error);
            }
            found.ok_or(Error::NotFound {
                operation: Operation::GetAppointment,
                appointment_id: Some(id),
                body: None,
            })
        }
    }

    fn list_page(&self, query: &ListQuery) -> impl Future<Output = Result<Page, Error>> + Send {
        let answer = self.page(query);
        async move { answer }
    }

    fn participants(
        &self,
        id: &AppointmentId,
    ) -> impl Future<Output = Result<Participants, Error>> + Send {
        let id = id.clone();
        async move {
            Err(Error::NotFound {
                operation: Operation::GetParticipants,
                appointment_id: Some(id),
                body: None,
            })
        }
    }

    fn provider_location(
        &self,
        id: &ProviderLocationId,
    ) -> impl Future<Output = Result<ProviderLocation, Error>> + Send {
        let failure = self.directory_read();
        let found = self
            .provider_locations
            .lock()
            .unwrap()
            .get(id.as_str())
            .cloned();
        async move {
            if let Some(error) = failure {
                return Err(error);
            }
            found.ok_or(Error::NotFound {
                operation: Operation::GetProviderLocation,
                appointment_id: None,
                body: None,
            })
        }
    }

    fn visit_reason(
        &self,
        id: &VisitReasonId,
    ) -> impl Future<Output = Result<VisitReason, Error>> + Send {
        let failure = self.directory_read();
        let found = self.visit_reasons.lock().unwrap().get(id.as_str()).cloned();
        async move {
            if let Some(error) = failure {
                return Err(error);
            }
            found.ok_or(Error::NotFound {
                operation: Operation::GetVisitReason,
                appointment_id: None,
                body: None,
            })
        }
    }
}
