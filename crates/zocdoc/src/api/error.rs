//! What can go wrong with a Zocdoc API call: one [`Error`] variant per failure a caller acts on,
//! Zocdoc's own `ErrorResult` body kept inside, and [`Error::staff_message`] in words a front desk
//! understands.
//!
//! `Display` (what goes into logs) names the operation, status codes, request ids and appointment
//! ids, never Zocdoc's message text (it may echo what was sent) nor a secret.
//! [`Error::staff_message`] adds Zocdoc's message text, for the person who made the request.

use std::fmt;
use std::time::Duration;

use super::decode::DecodeError;
use super::ids::{AppointmentId, RequestId};
use super::model::Appointment;

/// Longest piece of Zocdoc's message text shown to staff, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// A call the client makes, as named in logs and in messages to staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET /v1/appointments`.
    ListAppointments,
    /// `GET /v1/appointments/{id}`.
    GetAppointment,
    /// `GET /v1/appointments/{id}/participants`.
    GetParticipants,
    /// `GET /v1/provider_locations/{provider_location_id}`.
    GetProviderLocation,
    /// `GET /v1/visit_reasons/{visit_reason_id}`.
    GetVisitReason,
    /// `POST /v1/appointments/confirm`.
    Confirm,
    /// `POST /v1/appointments/cancel`.
    Cancel,
    /// `POST /v1/appointments/reschedule`.
    Reschedule,
    /// `PUT /v1/appointments/update-status` with `arrived`.
    MarkArrived,
    /// `PUT /v1/appointments/update-status` with `no_show`.
    MarkNoShow,
}

impl Operation {
    /// Stable snake_case name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::ListAppointments => "list_appointments",
            Operation::GetAppointment => "get_appointment",
            Operation::GetParticipants => "get_participants",
            Operation::GetProviderLocation => "get_provider_location",
            Operation::GetVisitReason => "get_visit_reason",
            Operation::Confirm => "confirm",
            Operation::Cancel => "cancel",
            Operation::Reschedule => "reschedule",
            Operation::MarkArrived => "mark_arrived",
            Operation::MarkNoShow => "mark_no_show",
        }
    }

    /// Whether the call changes an appointment (and so is never blindly retried).
    pub fn is_write(self) -> bool {
        !matches!(
            self,
            Operation::ListAppointments
                | Operation::GetAppointment
                | Operation::GetParticipants
                | Operation::GetProviderLocation
                | Operation::GetVisitReason
        )
    }

    /// The OAuth scope the call needs. The spec names none for the directory reads, which are
    /// then said to need the appointment read scope the app holds anyway.
    pub fn scope(self) -> &'static str {
        if self.is_write() {
            "external.appointment.write"
        } else {
            "external.appointment.read"
        }
    }

    /// What the call does, to finish "could not …".
    fn to_do(self) -> &'static str {
        match self {
            Operation::ListAppointments => "load the appointments",
            Operation::GetAppointment => "load this appointment",
            Operation::GetParticipants => "load the patient's details for this appointment",
            Operation::GetProviderLocation => "load the provider's and location's names",
            Operation::GetVisitReason => "load the visit reason's name",
            Operation::Confirm => "confirm this appointment",
            Operation::Cancel => "cancel this appointment",
            Operation::Reschedule => "move this appointment to the new time",
            Operation::MarkArrived => "mark the patient as arrived",
            Operation::MarkNoShow => "mark this appointment as a no-show",
        }
    }

    /// What the write did when it took effect, to finish "whether Zocdoc …".
    fn done(self) -> &'static str {
        match self {
            Operation::ListAppointments
            | Operation::GetAppointment
            | Operation::GetParticipants
            | Operation::GetProviderLocation
            | Operation::GetVisitReason => "answered",
            Operation::Confirm => "confirmed the appointment",
            Operation::Cancel => "cancelled the appointment",
            Operation::Reschedule => "moved the appointment",
            Operation::MarkArrived => "recorded the patient's arrival",
            Operation::MarkNoShow => "recorded the no-show",
        }
    }

    /// What a 404 to this call means, in plain words.
    fn not_found(self) -> String {
        match self {
            Operation::GetProviderLocation => "Zocdoc has no such provider location that \
                Deskbridge can see, so Deskbridge could not load the provider's and location's \
                names. The appointment shows Zocdoc's ids instead."
                .to_owned(),
            Operation::GetVisitReason => "Zocdoc has no such visit reason, so Deskbridge could \
                not load its name. The appointment shows Zocdoc's id instead."
                .to_owned(),
            other => format!(
                "Zocdoc has no such appointment that Deskbridge can see, so Deskbridge could not \
                 {}. It may have been booked through another partner.",
                other.to_do()
            ),
        }
    }

    /// Why Zocdoc answers 409 to this call, in plain words.
    fn conflict(self) -> String {
        match self {
            Operation::Confirm => "Zocdoc does not allow confirming this appointment: only an \
                appointment that is waiting for confirmation can be confirmed (it may already be \
                confirmed or cancelled)."
                .to_owned(),
            Operation::Cancel => "Zocdoc does not allow cancelling this appointment: it is \
                already cancelled, or in a state that can no longer be cancelled."
                .to_owned(),
            Operation::Reschedule => "Zocdoc does not allow moving this appointment: only an \
                appointment that is waiting for confirmation, confirmed, waiting for a new time or \
                already rescheduled can be moved."
                .to_owned(),
            Operation::MarkNoShow => "Zocdoc does not allow marking this appointment as a \
                no-show: it can only be set after the start time and within 2 days."
                .to_owned(),
            Operation::MarkArrived => "Zocdoc does not allow marking the patient as arrived for \
                this appointment in its current state."
                .to_owned(),
            read => format!("Zocdoc refused to {} because of a conflict.", read.to_do()),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

open_enum! {
    /// `ErrorType` of an `ErrorResult`.
    ErrorType {
        /// `api_error`.
        ApiError = "api_error",
        /// `invalid_request`.
        InvalidRequest = "invalid_request",
    }
}

/// One entry of `ErrorResult.errors`. `Debug` leaves the message out (it may echo what was sent).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiErrorDetail {
    /// `message`.
    pub message: String,
    /// `field`: the request field it is about.
    pub field: Option<String>,
}

impl fmt::Debug for ApiErrorDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiErrorDetail")
            .field(
                "message",
                &format_args!("<{} chars>", self.message.chars().count()),
            )
            .field("field", &self.field)
            .finish()
    }
}

/// Zocdoc's error body (`ErrorResult`), as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResult {
    /// `request_id`: quote it to Zocdoc support.
    pub request_id: Option<RequestId>,
    /// `error_type`.
    pub error_type: Option<ErrorType>,
    /// `errors`.
    pub errors: Vec<ApiErrorDetail>,
}

impl ErrorResult {
    /// Zocdoc's messages for a person: control characters removed, each one shortened to 300
    /// characters, joined by `; `. `None` when there is no message.
    pub fn staff_text(&self) -> Option<String> {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|detail| clean(&detail.message))
            .filter(|message| !message.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Why the credentials did not get the call through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The token server refused the client id, secret or audience.
    #[error("the token server refused the client credentials (HTTP {status})")]
    CredentialsRefused {
        /// The token server's status code (400, 401 or 403).
        status: u16,
    },
    /// The API answered 401 again after one fresh token (wrong environment, or scope missing).
    #[error("the API answered 401 to a freshly issued token")]
    TokenRejected,
}

/// How a connection to Zocdoc failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// No connection could be made: the request was not sent.
    Connect,
    /// No complete answer in time.
    Timeout,
    /// The connection broke while the request or the answer was under way.
    Interrupted,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out",
            TransportKind::Interrupted => "connection interrupted",
        })
    }
}

/// What reading an appointment back after an ambiguous write found.
#[derive(Debug)]
pub enum ReadBack {
    /// The appointment was read, but it does not show whether the write took effect.
    Inconclusive(Box<Appointment>),
    /// Reading the appointment failed as well.
    Failed(Box<Error>),
}

impl fmt::Display for ReadBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadBack::Inconclusive(appointment) => write!(
                f,
                "read back inconclusive (status {})",
                appointment.appointment_status
            ),
            ReadBack::Failed(error) => write!(f, "read back failed: {error}"),
        }
    }
}

/// A request the client refuses to send: a caller's mistake, nothing reached Zocdoc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestProblem {
    /// `page` outside 0..=10.
    #[error("page {page} is outside 0 to 10")]
    PageOutOfRange {
        /// The page asked for.
        page: u32,
    },
    /// `page_size` outside 1..=100.
    #[error("page size {page_size} is outside 1 to 100")]
    PageSizeOutOfRange {
        /// The page size asked for.
        page_size: u32,
    },
    /// A filter value is empty, or a list value contains a comma (the list separator).
    #[error("a value of `{parameter}` is empty or contains a comma")]
    BadFilterValue {
        /// The query parameter.
        parameter: &'static str,
    },
    /// A time window's minimum is after its maximum.
    #[error("`{parameter}_min` is after `{parameter}_max`")]
    InvertedWindow {
        /// The parameter without `_min` / `_max`.
        parameter: &'static str,
    },
    /// The appointment id is empty.
    #[error("the appointment id is empty")]
    EmptyAppointmentId,
    /// A directory id (provider location, visit reason) is empty.
    #[error("the {parameter} is empty")]
    EmptyDirectoryId {
        /// The path parameter, e.g. `provider_location_id`.
        parameter: &'static str,
    },
    /// A cancellation note is empty, or goes with a reason other than the two `other_*` ones.
    #[error("a cancellation note must be non-empty and go with an \"other\" reason")]
    BadCancellationNote,
}

/// Why a Zocdoc API call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401: the credentials did not get through, even after one fresh token. No body.
    #[error("{operation}: unauthorized: {cause}")]
    Unauthorized {
        /// The call.
        operation: Operation,
        /// Where the credentials were refused.
        cause: AuthFailure,
    },
    /// 403: the credentials lack the scope the call needs.
    #[error("{operation}: Zocdoc answered 403 (scope {} missing?){}", .operation.scope(), reference(.body))]
    Forbidden {
        /// The call.
        operation: Operation,
        /// Zocdoc's error body, when it sent one.
        body: Option<ErrorResult>,
    },
    /// 404: no such appointment (or provider location, visit reason) in the partner's directory.
    #[error("{operation}{}: Zocdoc answered 404{}", of(.appointment_id), reference(.body))]
    NotFound {
        /// The call.
        operation: Operation,
        /// The appointment asked for.
        appointment_id: Option<AppointmentId>,
        /// Zocdoc's error body, when it sent one.
        body: Option<ErrorResult>,
    },
    /// 409: the appointment's status does not allow this transition.
    #[error("{operation}{}: Zocdoc answered 409{}", of(.appointment_id), reference(.body))]
    Conflict {
        /// The call.
        operation: Operation,
        /// The appointment written to.
        appointment_id: Option<AppointmentId>,
        /// Zocdoc's error body, when it sent one.
        body: Option<ErrorResult>,
    },
    /// 400: Zocdoc refused the request as invalid.
    #[error("{operation}{}: Zocdoc answered 400{}", of(.appointment_id), reference(.body))]
    BadRequest {
        /// The call.
        operation: Operation,
        /// The appointment concerned.
        appointment_id: Option<AppointmentId>,
        /// Zocdoc's error body, when it sent one.
        body: Option<ErrorResult>,
    },
    /// 429 on every attempt the retry policy allows, or a `Retry-After` longer than it accepts.
    #[error("{operation}: rate limited by Zocdoc after {attempts} attempts")]
    RateLimited {
        /// The call.
        operation: Operation,
        /// Requests made.
        attempts: u32,
        /// The last `Retry-After`, when Zocdoc sent one.
        retry_after: Option<Duration>,
    },
    /// 5xx: after the bounded retries of a read. A write's 5xx is read back instead
    /// ([`Error::NotApplied`] or [`Error::Ambiguous`], with this error as the cause).
    #[error("{operation}: Zocdoc answered {status} after {attempts} attempts{}", reference(.body))]
    Server {
        /// The call.
        operation: Operation,
        /// The last status code.
        status: u16,
        /// Requests made.
        attempts: u32,
        /// Zocdoc's error body, when it sent one.
        body: Option<ErrorResult>,
    },
    /// The connection failed (connect, timeout, interrupted), after a read's bounded retries.
    #[error("{operation}: {kind} after {attempts} attempts")]
    Transport {
        /// The call.
        operation: Operation,
        /// How it failed.
        kind: TransportKind,
        /// Requests attempted.
        attempts: u32,
        /// The HTTP client's error, without the URL.
        #[source]
        source: reqwest::Error,
    },
    /// A write's answer was lost, and reading the appointment back showed it did not take
    /// effect: nothing changed at Zocdoc, and trying again is safe.
    #[error("{operation} of appointment {appointment_id}: not applied (status {}): {cause}", .appointment.appointment_status)]
    NotApplied {
        /// The write.
        operation: Operation,
        /// The appointment written to.
        appointment_id: AppointmentId,
        /// The appointment as read back.
        appointment: Box<Appointment>,
        /// Why the write's answer was lost.
        #[source]
        cause: Box<Error>,
    },
    /// A write's answer was lost, and reading the appointment back could not tell whether it
    /// took effect. Staff must check before trying again.
    #[error("{operation} of appointment {appointment_id}: outcome unknown ({read_back}): {cause}")]
    Ambiguous {
        /// The write.
        operation: Operation,
        /// The appointment written to.
        appointment_id: AppointmentId,
        /// What the read-back found.
        read_back: ReadBack,
        /// Why the write's answer was lost.
        #[source]
        cause: Box<Error>,
    },
    /// An answer that does not match the spec.
    #[error("{operation}: cannot read Zocdoc's answer (HTTP {status}): {problem}")]
    Decode {
        /// The call.
        operation: Operation,
        /// The answer's status code.
        status: u16,
        /// What is wrong with it.
        #[source]
        problem: DecodeError,
    },
    /// A status code the spec does not list for this call (e.g. a redirect, 405, 408).
    #[error("{operation}: unexpected HTTP {status}{}", reference(.body))]
    UnexpectedStatus {
        /// The call.
        operation: Operation,
        /// The status code.
        status: u16,
        /// Zocdoc's error body, when it sent one.
        body: Option<ErrorResult>,
    },
    /// The client refused to send the request (nothing reached Zocdoc).
    #[error("{operation}: not sent: {problem}")]
    InvalidRequest {
        /// The call.
        operation: Operation,
        /// What is wrong with it.
        problem: RequestProblem,
    },
}

impl Error {
    /// The call that failed.
    pub fn operation(&self) -> Operation {
        match self {
            Error::Unauthorized { operation, .. }
            | Error::Forbidden { operation, .. }
            | Error::NotFound { operation, .. }
            | Error::Conflict { operation, .. }
            | Error::BadRequest { operation, .. }
            | Error::RateLimited { operation, .. }
            | Error::Server { operation, .. }
            | Error::Transport { operation, .. }
            | Error::NotApplied { operation, .. }
            | Error::Ambiguous { operation, .. }
            | Error::Decode { operation, .. }
            | Error::UnexpectedStatus { operation, .. }
            | Error::InvalidRequest { operation, .. } => *operation,
        }
    }

    /// A stable snake_case code for the UI's logic. Never change an existing code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized { .. } => "zocdoc_unauthorized",
            Error::Forbidden { .. } => "zocdoc_forbidden",
            Error::NotFound { .. } => "zocdoc_not_found",
            Error::Conflict { .. } => "zocdoc_conflict",
            Error::BadRequest { .. } => "zocdoc_bad_request",
            Error::RateLimited { .. } => "zocdoc_rate_limited",
            Error::Server { .. } => "zocdoc_server_error",
            Error::Transport { .. } => "zocdoc_unreachable",
            Error::NotApplied { .. } => "zocdoc_write_not_applied",
            Error::Ambiguous { .. } => "zocdoc_write_outcome_unknown",
            Error::Decode { .. } => "zocdoc_unreadable_answer",
            Error::UnexpectedStatus { .. } => "zocdoc_unexpected_status",
            Error::InvalidRequest { .. } => "zocdoc_invalid_request",
        }
    }

    /// Zocdoc's `ErrorResult`, when the answer carried one.
    pub fn error_result(&self) -> Option<&ErrorResult> {
        match self {
            Error::Forbidden { body, .. }
            | Error::NotFound { body, .. }
            | Error::Conflict { body, .. }
            | Error::BadRequest { body, .. }
            | Error::Server { body, .. }
            | Error::UnexpectedStatus { body, .. } => body.as_ref(),
            _ => None,
        }
    }

    /// What happened, in words a front desk understands: what could not be done, why, what to
    /// do, Zocdoc's own message when it sent one, and its reference for support.
    pub fn staff_message(&self) -> String {
        let to_do = self.operation().to_do();
        let mut message = match self {
            Error::Unauthorized {
                cause: AuthFailure::CredentialsRefused { .. },
                ..
            } => format!(
                "Zocdoc did not accept Deskbridge's Zocdoc sign-in details (client ID and \
                 secret), so Deskbridge could not {to_do}. Check the Zocdoc credentials in \
                 Settings: the sandbox and production each have their own."
            ),
            Error::Unauthorized {
                cause: AuthFailure::TokenRejected,
                ..
            } => format!(
                "Zocdoc refused Deskbridge's sign-in for this request, so Deskbridge could not \
                 {to_do}. The Zocdoc credentials may belong to the other environment (sandbox or \
                 production) or lack access to appointments. Check them in Settings; if they are \
                 right, contact Zocdoc support."
            ),
            Error::Forbidden { operation, .. } => format!(
                "Deskbridge's Zocdoc credentials do not have permission to {to_do} (Zocdoc \
                 permission \u{201c}{}\u{201d}). Ask Zocdoc to grant it.",
                operation.scope()
            ),
            Error::NotFound { operation, .. } => operation.not_found(),
            Error::Conflict { operation, .. } => operation.conflict(),
            Error::BadRequest { operation, .. } => {
                let hint = match operation {
                    Operation::Reschedule => {
                        " The new time must be a free time from the provider's availability."
                    }
                    _ => "",
                };
                format!("Zocdoc did not accept the request to {to_do}.{hint}")
            }
            Error::RateLimited { retry_after, .. } => {
                let wait = match retry_after {
                    Some(delay) if delay.as_secs() > 60 => {
                        format!("Wait {} minutes", delay.as_secs().div_ceil(60))
                    }
                    _ => "Wait a minute".to_owned(),
                };
                format!(
                    "Zocdoc is getting too many requests from Deskbridge right now, so Deskbridge \
                     could not {to_do}. {wait} and try again."
                )
            }
            Error::Server { .. } => format!(
                "Zocdoc is having a problem on its side, so Deskbridge could not {to_do}. Try \
                 again in a few minutes."
            ),
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            } => format!(
                "Deskbridge could not reach Zocdoc, so it could not {to_do}. Check the internet \
                 connection and try again."
            ),
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            } => format!(
                "Zocdoc did not answer in time, so Deskbridge could not {to_do}. Check the \
                 internet connection and try again."
            ),
            Error::Transport {
                kind: TransportKind::Interrupted,
                ..
            } => format!(
                "The connection to Zocdoc broke off, so Deskbridge could not {to_do}. Try again."
            ),
            Error::NotApplied {
                appointment, cause, ..
            } => format!(
                "{} Zocdoc did not {to_do}: the appointment is still {}. Nothing was changed at \
                 Zocdoc, so it is safe to try again.",
                lost_answer(cause),
                appointment.appointment_status.in_plain_words()
            ),
            Error::Ambiguous {
                operation: Operation::MarkArrived,
                cause,
                ..
            } => format!(
                "{} Deskbridge cannot tell whether Zocdoc recorded the patient's arrival, because \
                 Zocdoc's appointment record does not show arrivals. Marking the arrival again \
                 does no harm: try again in a minute.",
                lost_answer(cause)
            ),
            Error::Ambiguous {
                operation,
                read_back: ReadBack::Inconclusive(appointment),
                cause,
                ..
            } => format!(
                "{} The appointment is now {}, which does not show whether Zocdoc {}. Check the \
                 appointment in Zocdoc before trying again.",
                lost_answer(cause),
                appointment.appointment_status.in_plain_words(),
                operation.done()
            ),
            Error::Ambiguous {
                operation,
                read_back: ReadBack::Failed(_),
                cause,
                ..
            } => format!(
                "{} Deskbridge could not check the appointment afterwards, so it cannot tell \
                 whether Zocdoc {}. Check the appointment in Zocdoc before trying again.",
                lost_answer(cause),
                operation.done()
            ),
            Error::Decode { .. } => format!(
                "Zocdoc sent an answer Deskbridge could not read, so Deskbridge could not {to_do}. \
                 Please report this to support."
            ),
            Error::UnexpectedStatus { status, .. } => format!(
                "Zocdoc gave an unexpected answer (HTTP {status}), so Deskbridge could not \
                 {to_do}. Please report this to support."
            ),
            Error::InvalidRequest { problem, .. } => format!(
                "Deskbridge did not send the request to {to_do}: {problem}. Please report this to \
                 support."
            ),
        };
        if let Some(body) = self.error_result() {
            if let Some(text) = body.staff_text() {
                message.push_str(&format!(" Zocdoc said: \u{201c}{text}\u{201d}"));
            }
            if let Some(request_id) = &body.request_id {
                message.push_str(&format!(
                    " (Zocdoc reference: {})",
                    clean(request_id.as_str())
                ));
            }
        }
        message
    }
}

/// The first sentence about a write whose answer was lost, from why it was lost.
fn lost_answer(cause: &Error) -> &'static str {
    match cause {
        Error::Transport {
            kind: TransportKind::Timeout,
            ..
        } => "Zocdoc did not answer in time.",
        Error::Transport { .. } => "The connection to Zocdoc broke off before it answered.",
        Error::Server { .. } => "Zocdoc had a problem on its side while handling the request.",
        _ => "Zocdoc's answer could not be read.",
    }
}

/// ` of appointment <id>`, or nothing.
fn of(appointment_id: &Option<AppointmentId>) -> String {
    appointment_id
        .as_ref()
        .map(|id| format!(" of appointment {id}"))
        .unwrap_or_default()
}

/// ` (request <id>)`, or nothing.
fn reference(body: &Option<ErrorResult>) -> String {
    body.as_ref()
        .and_then(|body| body.request_id.as_ref())
        .map(|id| format!(" (request {})", clean(id.as_str())))
        .unwrap_or_default()
}

/// Text from Zocdoc made safe to show: control characters dropped, whitespace trimmed, at most
/// [`MAX_MESSAGE_CHARS`] characters.
fn clean(text: &str) -> String {
    let kept: String = text.chars().filter(|c| !c.is_control()).collect();
    let kept = kept.trim();
    if kept.chars().count() <= MAX_MESSAGE_CHARS {
        return kept.to_owned();
    }
    let mut short: String = kept.chars().take(MAX_MESSAGE_CHARS).collect();
    short.push('\u{2026}');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(messages: &[&str]) -> Option<ErrorResult> {
        Some(ErrorResult {
            request_id: Some(RequestId::new("req-42")),
            error_type: Some(ErrorType::InvalidRequest),
            errors: messages
                .iter()
                .map(|message| ApiErrorDetail {
                    message: (*message).to_owned(),
                    field: Some("appointment_id".to_owned()),
                })
                .collect(),
        })
    }

    fn id() -> Option<AppointmentId> {
        Some(AppointmentId::new("a0a7770d-e667-416c-9f06-9c3b40a7bb84"))
    }

    #[test]
    fn conflict_on_no_show_explains_the_two_day_rule_and_quotes_zocdoc() {
        let error = Error::Conflict {
            operation: Operation::MarkNoShow,
            appointment_id: id(),
            body: body(&["Appointment start time is in the future"]),
        };
        assert_eq!(
            error.staff_message(),
            "Zocdoc does not allow marking this appointment as a no-show: it can only be set \
             after the start time and within 2 days. Zocdoc said: \u{201c}Appointment start time \
             is in the future\u{201d} (Zocdoc reference: req-42)"
        );
        assert_eq!(error.code(), "zocdoc_conflict");
    }

    #[test]
    fn display_is_log_safe_and_keeps_ids() {
        let error = Error::BadRequest {
            operation: Operation::Cancel,
            appointment_id: id(),
            body: body(&["Patient Jane Doe cannot be cancelled"]),
        };
        let display = error.to_string();
        assert_eq!(
            display,
            "cancel of appointment a0a7770d-e667-416c-9f06-9c3b40a7bb84: Zocdoc answered 400 \
             (request req-42)"
        );
        let debug = format!("{error:?}");
        assert!(!debug.contains("Jane"), "{debug}");
        assert!(error.staff_message().contains("Jane Doe"));
    }

    #[test]
    fn every_variant_has_a_message_naming_the_operation() {
        let decode = DecodeError::Missing {
            field: "data".to_owned(),
        };
        let errors = [
            Error::Unauthorized {
                operation: Operation::GetAppointment,
                cause: AuthFailure::CredentialsRefused { status: 401 },
            },
            Error::Unauthorized {
                operation: Operation::GetAppointment,
                cause: AuthFailure::TokenRejected,
            },
            Error::Forbidden {
                operation: Operation::Cancel,
                body: None,
            },
            Error::NotFound {
                operation: Operation::GetAppointment,
                appointment_id: id(),
                body: None,
            },
            Error::RateLimited {
                operation: Operation::ListAppointments,
                attempts: 7,
                retry_after: Some(Duration::from_secs(600)),
            },
            Error::Server {
                operation: Operation::GetParticipants,
                status: 503,
                attempts: 4,
                body: None,
            },
            Error::Decode {
                operation: Operation::GetAppointment,
                status: 200,
                problem: decode,
            },
            Error::UnexpectedStatus {
                operation: Operation::GetAppointment,
                status: 302,
                body: None,
            },
            Error::InvalidRequest {
                operation: Operation::ListAppointments,
                problem: RequestProblem::PageOutOfRange { page: 11 },
            },
        ];
        for error in &errors {
            let message = error.staff_message();
            assert!(message.contains(error.operation().to_do()), "{message}");
            assert!(!error.to_string().is_empty());
            assert!(error.code().starts_with("zocdoc_"));
        }
        assert!(
            errors[2]
                .staff_message()
                .contains("external.appointment.write")
        );
        assert!(errors[4].staff_message().contains("Wait 10 minutes"));
    }

    #[test]
    fn not_applied_says_nothing_changed_and_the_current_status() {
        let appointment = crate::api::model::fixtures::appointment("x", "confirmed");
        let error = Error::NotApplied {
            operation: Operation::Cancel,
            appointment_id: AppointmentId::new("x"),
            appointment: Box::new(appointment),
            cause: Box::new(Error::Server {
                operation: Operation::Cancel,
                status: 502,
                attempts: 1,
                body: None,
            }),
        };
        assert_eq!(
            error.staff_message(),
            "Zocdoc had a problem on its side while handling the request. Zocdoc did not cancel \
             this appointment: the appointment is still confirmed. Nothing was changed at Zocdoc, \
             so it is safe to try again."
        );
        assert_eq!(error.code(), "zocdoc_write_not_applied");
    }

    #[test]
    fn ambiguous_messages_tell_staff_to_check_first() {
        let cause = || {
            Box::new(Error::Server {
                operation: Operation::Reschedule,
                status: 500,
                attempts: 1,
                body: None,
            })
        };
        let inconclusive = Error::Ambiguous {
            operation: Operation::Reschedule,
            appointment_id: AppointmentId::new("x"),
            read_back: ReadBack::Inconclusive(Box::new(crate::api::model::fixtures::appointment(
                "x",
                "pending_reschedule",
            ))),
            cause: cause(),
        };
        assert!(
            inconclusive
                .staff_message()
                .contains("The appointment is now waiting for a new time to be confirmed"),
            "{}",
            inconclusive.staff_message()
        );
        assert!(
            inconclusive
                .staff_message()
                .contains("Check the appointment in Zocdoc")
        );
        let arrived = Error::Ambiguous {
            operation: Operation::MarkArrived,
            appointment_id: AppointmentId::new("x"),
            read_back: ReadBack::Failed(cause()),
            cause: cause(),
        };
        assert!(arrived.staff_message().contains("does not show arrivals"));
        assert_eq!(arrived.code(), "zocdoc_write_outcome_unknown");
    }

    #[test]
    fn directory_reads_say_what_could_not_be_named() {
        let error = Error::NotFound {
            operation: Operation::GetVisitReason,
            appointment_id: None,
            body: body(&["Not found"]),
        };
        assert!(
            error
                .staff_message()
                .starts_with("Zocdoc has no such visit reason, so Deskbridge could not load its")
        );
        assert_eq!(
            error.to_string(),
            "get_visit_reason: Zocdoc answered 404 (request req-42)"
        );
        let error = Error::Server {
            operation: Operation::GetProviderLocation,
            status: 503,
            attempts: 4,
            body: None,
        };
        assert!(
            error
                .staff_message()
                .contains("could not load the provider's and location's names")
        );
        assert!(!Operation::GetProviderLocation.is_write());
    }

    #[test]
    fn zocdoc_text_is_cleaned_and_shortened() {
        let long = "x".repeat(400);
        let result = body(&["line\none\u{7}", "", &long]).unwrap();
        let text = result.staff_text().unwrap();
        assert!(text.starts_with("lineone; xxx"), "{text}");
        assert!(text.ends_with('\u{2026}'));
        assert_eq!(text.chars().count(), "lineone; ".len() + 301);
        let debug = format!("{result:?}");
        assert!(!debug.contains("lineone"), "{debug}");
        assert!(debug.contains("<9 chars>"), "{debug}");
    }
}
