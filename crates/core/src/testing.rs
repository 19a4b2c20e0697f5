//! Fixtures shared by this crate's unit tests: a store in a temporary folder, constructed
//! appointments, and a fake Zocdoc reader that lists and pages like Zocdoc (1,000 per query).

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use deskbridge_zocdoc::api::{
    Appointment, AppointmentId, AppointmentStatus, ConfirmationType, Error, ListQuery,
    MAX_RESULTS_PER_QUERY, OffsetTime, Operation, Page, Participants,
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
}
