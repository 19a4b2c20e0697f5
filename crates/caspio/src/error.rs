//! What can go wrong with a Caspio call: one [`Error`] variant per failure a caller acts on,
//! Caspio's own error body (`Code`, `Message`, `Resource`, `RequestId`) kept inside, and
//! [`Error::staff_message`] in words a front desk understands.
//!
//! `Display` (what goes into logs) names the operation, the table, status codes, Caspio's `Code`
//! and `RequestId`, never Caspio's `Message` (it may echo a value that was written) nor a secret.
//! [`Error::staff_message`] adds the message, for the person who pushed.

use std::fmt;
use std::time::Duration;

use crate::decode::DecodeError;
use crate::names::TableName;

/// Longest piece of Caspio's message text shown to staff, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// A call the client makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `POST /oauth/token`.
    Token,
    /// `GET /v3/tables`.
    ListTables,
    /// `GET /v3/tables/{table}/fields`.
    GetFields,
    /// `GET /v3/tables/{table}/records`.
    GetRecords,
    /// `POST /v3/tables/{table}/records`.
    InsertRecord,
    /// `PUT /v3/tables/{table}/records`.
    UpdateRecords,
}

impl Operation {
    /// Stable snake_case name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Token => "token",
            Operation::ListTables => "list_tables",
            Operation::GetFields => "get_fields",
            Operation::GetRecords => "get_records",
            Operation::InsertRecord => "insert_record",
            Operation::UpdateRecords => "update_records",
        }
    }

    /// Whether the call writes.
    pub fn is_write(self) -> bool {
        matches!(self, Operation::InsertRecord | Operation::UpdateRecords)
    }

    /// What the call does, to finish "could not …".
    fn to_do(self, table: Option<&TableName>) -> String {
        let table = table.map_or_else(|| "the table".to_owned(), |table| format!("table {table}"));
        match self {
            Operation::Token => "sign in to Caspio".to_owned(),
            Operation::ListTables => "list the Caspio tables".to_owned(),
            Operation::GetFields => format!("read the columns of {table}"),
            Operation::GetRecords => format!("read rows of {table}"),
            Operation::InsertRecord => format!("add a row to {table}"),
            Operation::UpdateRecords => format!("update a row of {table}"),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Caspio's error body, as far as it could be read. `Debug` leaves the message out.
#[derive(Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// `Code`, e.g. `TableNotFound`.
    pub code: Option<String>,
    /// `Message`: may echo a value that was sent; for staff, never for logs.
    pub message: Option<String>,
    /// `Resource`: the path the error is about.
    pub resource: Option<String>,
    /// `RequestId`: quote it to Caspio support.
    pub request_id: Option<String>,
}

impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorBody")
            .field("code", &self.code)
            .field(
                "message",
                &self
                    .message
                    .as_ref()
                    .map(|message| format!("<{} chars>", message.chars().count())),
            )
            .field("resource", &self.resource)
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl ErrorBody {
    /// Caspio's message for a person: control characters removed, at most 300 characters.
    pub fn staff_text(&self) -> Option<String> {
        let message = self.message.as_deref().map(clean)?;
        (!message.is_empty()).then_some(message)
    }
}

/// Why the credentials did not get the call through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The token endpoint refused the client id or secret.
    #[error("the token endpoint refused the client credentials (HTTP {status})")]
    CredentialsRefused {
        /// Its status code.
        status: u16,
    },
    /// The API answered 401 again after one fresh token.
    #[error("the API answered 401 to a freshly issued token")]
    TokenRejected,
}

/// How a connection failed.
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

/// Why a Caspio call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401 after one fresh token, or the token endpoint refused the credentials.
    #[error("{operation}: unauthorized: {cause}")]
    Unauthorized {
        /// The call.
        operation: Operation,
        /// Where the credentials were refused.
        cause: AuthFailure,
    },
    /// 403: the web services profile lacks permission on the table.
    #[error("{operation}{}: Caspio answered 403{}", on(.table), reference(.body))]
    Forbidden {
        /// The call.
        operation: Operation,
        /// The table.
        table: Option<TableName>,
        /// Caspio's error body.
        body: Option<ErrorBody>,
    },
    /// 404: no such table (or record).
    #[error("{operation}{}: Caspio answered 404{}", on(.table), reference(.body))]
    NotFound {
        /// The call.
        operation: Operation,
        /// The table.
        table: Option<TableName>,
        /// Caspio's error body.
        body: Option<ErrorBody>,
    },
    /// 400: a bad query or value (a duplicate in a Unique column among them).
    #[error("{operation}{}: Caspio answered 400{}", on(.table), reference(.body))]
    BadRequest {
        /// The call.
        operation: Operation,
        /// The table.
        table: Option<TableName>,
        /// Caspio's error body.
        body: Option<ErrorBody>,
    },
    /// 429 on every attempt the retry policy allows.
    #[error("{operation}: rate limited by Caspio after {attempts} attempts")]
    RateLimited {
        /// The call.
        operation: Operation,
        /// Requests made.
        attempts: u32,
        /// The last `Retry-After`, when Caspio sent one.
        retry_after: Option<Duration>,
    },
    /// 5xx after the bounded retries.
    #[error("{operation}: Caspio answered {status} after {attempts} attempts{}", reference(.body))]
    Server {
        /// The call.
        operation: Operation,
        /// The last status code.
        status: u16,
        /// Requests made.
        attempts: u32,
        /// Caspio's error body.
        body: Option<ErrorBody>,
    },
    /// The connection failed after the bounded retries.
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
    /// An answer that does not have the documented shape.
    #[error("{operation}: cannot read Caspio's answer (HTTP {status}): {problem}")]
    Decode {
        /// The call.
        operation: Operation,
        /// The answer's status code.
        status: u16,
        /// What is wrong with it.
        #[source]
        problem: DecodeError,
    },
    /// A status code Caspio does not document for this call.
    #[error("{operation}: unexpected HTTP {status}{}", reference(.body))]
    UnexpectedStatus {
        /// The call.
        operation: Operation,
        /// The status code.
        status: u16,
        /// Caspio's error body.
        body: Option<ErrorBody>,
    },
}

impl Error {
    /// The call that failed.
    pub fn operation(&self) -> Operation {
        match self {
            Error::Unauthorized { operation, .. }
            | Error::Forbidden { operation, .. }
            | Error::NotFound { operation, .. }
            | Error::BadRequest { operation, .. }
            | Error::RateLimited { operation, .. }
            | Error::Server { operation, .. }
            | Error::Transport { operation, .. }
            | Error::Decode { operation, .. }
            | Error::UnexpectedStatus { operation, .. } => *operation,
        }
    }

    /// A stable snake_case code for the UI's logic. Never change an existing code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthorized { .. } => "caspio_unauthorized",
            Error::Forbidden { .. } => "caspio_forbidden",
            Error::NotFound { .. } => "caspio_not_found",
            Error::BadRequest { .. } => "caspio_bad_request",
            Error::RateLimited { .. } => "caspio_rate_limited",
            Error::Server { .. } => "caspio_server_error",
            Error::Transport { .. } => "caspio_unreachable",
            Error::Decode { .. } => "caspio_unreadable_answer",
            Error::UnexpectedStatus { .. } => "caspio_unexpected_status",
        }
    }

    /// Caspio's error body, when the answer carried one.
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            Error::Forbidden { body, .. }
            | Error::NotFound { body, .. }
            | Error::BadRequest { body, .. }
            | Error::Server { body, .. }
            | Error::UnexpectedStatus { body, .. } => body.as_ref(),
            _ => None,
        }
    }

    /// Whether the failure concerns the account or the connection rather than one row: a push
    /// stops on it (the rows stay queued) instead of setting the row aside.
    pub fn is_account_wide(&self) -> bool {
        matches!(
            self,
            Error::Unauthorized { .. } | Error::RateLimited { .. } | Error::Transport { .. }
        )
    }

    fn table(&self) -> Option<&TableName> {
        match self {
            Error::Forbidden { table, .. }
            | Error::NotFound { table, .. }
            | Error::BadRequest { table, .. } => table.as_ref(),
            _ => None,
        }
    }

    /// What happened, in words a front desk understands: what could not be done, why, what to
    /// do, Caspio's own message when it sent one, and its reference for support.
    pub fn staff_message(&self) -> String {
        let to_do = self.operation().to_do(self.table());
        let table = self
            .table()
            .map_or_else(|| "this table".to_owned(), |table| format!("table {table}"));
        let mut message = match self {
            Error::Unauthorized {
                cause: AuthFailure::CredentialsRefused { .. },
                ..
            } => format!(
                "Caspio did not accept Deskbridge's sign-in details (client ID and secret of the \
                 web services profile), so Deskbridge could not {to_do}. Check them in Settings."
            ),
            Error::Unauthorized {
                cause: AuthFailure::TokenRejected,
                ..
            } => format!(
                "Caspio refused Deskbridge's sign-in for this request, so Deskbridge could not \
                 {to_do}. Check the integration URL and the web services profile in Settings."
            ),
            Error::Forbidden { operation, .. } if operation.is_write() => format!(
                "This Caspio web services profile may not write to {table}. Ask the Caspio \
                 account's administrator to allow it, or choose another table."
            ),
            Error::Forbidden { .. } => format!(
                "This Caspio web services profile may not read {table}, so Deskbridge could not \
                 {to_do}. Ask the Caspio account's administrator to allow it."
            ),
            Error::NotFound { .. } => format!(
                "Caspio has no {table}, so Deskbridge could not {to_do}. Check the table name \
                 in the Caspio settings."
            ),
            Error::BadRequest { .. } => format!(
                "Caspio did not accept the request to {to_do}: a value does not fit its column, \
                 or a column does not exist."
            ),
            Error::RateLimited { .. } => format!(
                "Caspio is getting too many requests from Deskbridge right now, so Deskbridge \
                 could not {to_do}. Wait a minute and try again."
            ),
            Error::Server { .. } | Error::UnexpectedStatus { .. } => format!(
                "Caspio is having a problem on its side, so Deskbridge could not {to_do}. Try \
                 again in a few minutes."
            ),
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            } => format!(
                "Deskbridge could not reach Caspio, so it could not {to_do}. Check the internet \
                 connection and try again."
            ),
            Error::Transport { .. } => format!(
                "The connection to Caspio broke off or timed out, so Deskbridge could not \
                 {to_do}. Try again."
            ),
            Error::Decode { .. } => format!(
                "Caspio's answer could not be read, so Deskbridge could not {to_do}. Try again; \
                 if it keeps happening, contact support."
            ),
        };
        if let Some(body) = self.body() {
            if let Some(text) = body.staff_text() {
                message.push_str(&format!(" Caspio says: \u{201c}{text}\u{201d}"));
            }
            if let Some(request_id) = &body.request_id {
                message.push_str(&format!(" (Caspio reference {})", clean(request_id)));
            }
        }
        message
    }
}

fn on(table: &Option<TableName>) -> String {
    table
        .as_ref()
        .map_or_else(String::new, |table| format!(" on {table}"))
}

fn reference(body: &Option<ErrorBody>) -> String {
    let Some(body) = body else {
        return String::new();
    };
    let mut text = String::new();
    if let Some(code) = &body.code {
        text.push_str(&format!(" (code {})", clean(code)));
    }
    if let Some(request_id) = &body.request_id {
        text.push_str(&format!(" (request {})", clean(request_id)));
    }
    text
}

/// Control characters removed, trimmed, at most [`MAX_MESSAGE_CHARS`] characters.
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

    fn body(message: &str) -> Option<ErrorBody> {
        Some(ErrorBody {
            code: Some("IncorrectBodyParameter".to_owned()),
            message: Some(message.to_owned()),
            resource: Some("/tables/Appointments/records".to_owned()),
            request_id: Some("req-42".to_owned()),
        })
    }

    fn table() -> Option<TableName> {
        Some(TableName::new("Appointments").unwrap())
    }

    #[test]
    fn a_403_on_a_write_names_the_table_in_plain_words() {
        let error = Error::Forbidden {
            operation: Operation::InsertRecord,
            table: table(),
            body: body("Access denied"),
        };
        let message = error.staff_message();
        assert!(
            message.starts_with(
                "This Caspio web services profile may not write to table Appointments."
            ),
            "{message}"
        );
        assert!(message.contains("Access denied") && message.contains("req-42"));
        assert_eq!(error.code(), "caspio_forbidden");
    }

    #[test]
    fn display_keeps_codes_and_ids_but_never_the_message() {
        let error = Error::BadRequest {
            operation: Operation::UpdateRecords,
            table: table(),
            body: body("Value 'Jane Doe' is too long"),
        };
        let shown = error.to_string();
        assert!(!shown.contains("Jane"), "{shown}");
        assert!(shown.contains("IncorrectBodyParameter") && shown.contains("req-42"));
        assert!(!format!("{error:?}").contains("Jane"));
        assert!(error.staff_message().contains("Jane Doe"));
    }

    #[test]
    fn long_or_control_laden_messages_are_cleaned() {
        let long = format!("a\u{7}b{}", "x".repeat(400));
        let text = body(&long).unwrap().staff_text().unwrap();
        assert!(!text.contains('\u{7}'));
        assert_eq!(text.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn account_wide_failures_are_told_apart_from_row_failures() {
        assert!(
            Error::RateLimited {
                operation: Operation::GetRecords,
                attempts: 7,
                retry_after: None
            }
            .is_account_wide()
        );
        assert!(
            !Error::BadRequest {
                operation: Operation::InsertRecord,
                table: None,
                body: None
            }
            .is_account_wide()
        );
    }
}
