//! Which Deskbridge field fills which column of the practice's Caspio table, checked against the
//! table's live field list before any write, and the values one appointment yields.
//!
//! A [`Mapping`] is plain data (serde) the app keeps in its settings. [`Mapping::validate`]
//! turns it into a [`ValidMapping`] against the fields `GET /tables/{table}/fields` returned, or
//! lists every [`MappingProblem`] at once: an unknown column, a column of the wrong type, a
//! column Caspio fills in itself (autonumber, GUID, timestamp, formula, …), a key column that is
//! not Unique or not filled with the appointment id.
//!
//! Times are written as local date-times in the practice's time zone (Caspio stores no offset).
//! Patient details (name, phone, email, date of birth) are written only when
//! `include_patient_details` is on; they are patient data and never logged.

use std::collections::HashSet;
use std::fmt;

use deskbridge_caspio::{ColumnName, Field, FieldType, ReadOnlyReason, Record, TableName};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A Deskbridge field a column can be filled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Zocdoc's appointment id (the key).
    AppointmentId,
    /// The appointment's status, e.g. `confirmed`.
    Status,
    /// The start, as a local date-time in the practice's time zone.
    Start,
    /// The provider id.
    Provider,
    /// The location id.
    Location,
    /// The visit reason id.
    VisitReason,
    /// `new` or `existing` patient.
    PatientType,
    /// When the appointment was booked (local date-time).
    Created,
    /// When Zocdoc last changed it (local date-time).
    LastModified,
    /// The cancellation reason (free text).
    CancellationReason,
    /// Whether the patient arrived (YES/NO).
    Arrived,
    /// Patient detail: first name.
    PatientFirstName,
    /// Patient detail: last name.
    PatientLastName,
    /// Patient detail: phone number.
    PatientPhone,
    /// Patient detail: email address.
    PatientEmail,
    /// Patient detail: date of birth.
    PatientDateOfBirth,
}

/// The kind of value a source yields, which decides the column types it fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    DateTime,
    Date,
    YesNo,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 16] = [
        Source::AppointmentId,
        Source::Status,
        Source::Start,
        Source::Provider,
        Source::Location,
        Source::VisitReason,
        Source::PatientType,
        Source::Created,
        Source::LastModified,
        Source::CancellationReason,
        Source::Arrived,
        Source::PatientFirstName,
        Source::PatientLastName,
        Source::PatientPhone,
        Source::PatientEmail,
        Source::PatientDateOfBirth,
    ];

    /// Whether it is patient data, written only with `include_patient_details`.
    pub fn is_patient_detail(self) -> bool {
        matches!(
            self,
            Source::PatientFirstName
                | Source::PatientLastName
                | Source::PatientPhone
                | Source::PatientEmail
                | Source::PatientDateOfBirth
        )
    }

    /// The field's name in plain words, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Source::AppointmentId => "appointment id",
            Source::Status => "status",
            Source::Start => "start",
            Source::Provider => "provider",
            Source::Location => "location",
            Source::VisitReason => "visit reason",
            Source::PatientType => "patient type",
            Source::Created => "created",
            Source::LastModified => "last modified",
            Source::CancellationReason => "cancellation reason",
            Source::Arrived => "arrived",
            Source::PatientFirstName => "patient first name",
            Source::PatientLastName => "patient last name",
            Source::PatientPhone => "patient phone",
            Source::PatientEmail => "patient email",
            Source::PatientDateOfBirth => "patient date of birth",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Source::Start | Source::Created | Source::LastModified => Kind::DateTime,
            Source::PatientDateOfBirth => Kind::Date,
            Source::Arrived => Kind::YesNo,
            _ => Kind::Text,
        }
    }

    fn fits(self, field_type: &FieldType) -> bool {
        match self.kind() {
            Kind::Text => matches!(field_type, FieldType::Text | FieldType::String),
            Kind::DateTime | Kind::Date => matches!(
                field_type,
                FieldType::DateTime | FieldType::Text | FieldType::String
            ),
            Kind::YesNo => *field_type == FieldType::YesNo,
        }
    }

    fn expected(self) -> &'static str {
        match self.kind() {
            Kind::Text => "TEXT or STRING",
            Kind::DateTime | Kind::Date => "DATE/TIME, TEXT or STRING",
            Kind::YesNo => "YES/NO",
        }
    }
}

/// One column filled from one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    /// The Deskbridge field.
    pub source: Source,
    /// The Caspio column.
    pub column: String,
}

/// Where appointments go in Caspio, and how (settings; checked by [`Mapping::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// The target table.
    pub table: String,
    /// The column that identifies a row: Unique in Caspio, filled with the appointment id.
    pub key_column: String,
    /// The practice's IANA time zone, e.g. `America/New_York`.
    pub time_zone: String,
    /// Whether patient details (name, phone, email, date of birth) are written.
    pub include_patient_details: bool,
    /// The columns and their sources.
    pub columns: Vec<ColumnMapping>,
}

impl Mapping {
    /// The mapping onto the demo's `Appointments` table (the Caspio emulator's default table):
    /// every source into the column of the same meaning, patient details off.
    pub fn default_appointments(time_zone: &str) -> Mapping {
        let column = |source, column: &str| ColumnMapping {
            source,
            column: column.to_owned(),
        };
        Mapping {
            table: "Appointments".to_owned(),
            key_column: "ZocdocAppointmentId".to_owned(),
            time_zone: time_zone.to_owned(),
            include_patient_details: false,
            columns: vec![
                column(Source::AppointmentId, "ZocdocAppointmentId"),
                column(Source::Status, "Status"),
                column(Source::Start, "StartLocal"),
                column(Source::Provider, "ProviderId"),
                column(Source::Location, "LocationId"),
                column(Source::VisitReason, "VisitReasonId"),
                column(Source::PatientType, "PatientType"),
                column(Source::Created, "CreatedLocal"),
                column(Source::LastModified, "LastModifiedLocal"),
                column(Source::CancellationReason, "CancellationReason"),
                column(Source::Arrived, "Arrived"),
                column(Source::PatientFirstName, "PatientFirstName"),
                column(Source::PatientLastName, "PatientLastName"),
                column(Source::PatientPhone, "PatientPhone"),
                column(Source::PatientEmail, "PatientEmail"),
                column(Source::PatientDateOfBirth, "PatientDateOfBirth"),
            ],
        }
    }

    /// The target table's name, checked.
    pub fn table_name(&self) -> Result<TableName, MappingError> {
        TableName::new(&self.table).map_err(|_| MappingError {
            table: self.table.clone(),
            problems: vec![MappingProblem::BadTableName],
        })
    }

    /// Checks the mapping against the table's fields; every problem is listed.
    pub fn validate(&self, fields: &[Field]) -> Result<ValidMapping, MappingError> {
        let mut problems = Vec::new();
        let table = TableName::new(&self.table).ok();
        if table.is_none() {
            problems.push(MappingProblem::BadTableName);
        }
        let time_zone = TimeZone::get(&self.time_zone).ok();
        if time_zone.is_none() {
            problems.push(MappingProblem::UnknownTimeZone {
                time_zone: self.time_zone.clone(),
            });
        }
        let find = |name: &str| {
            fields
                .iter()
                .find(|f| f.name.as_str().eq_ignore_ascii_case(name))
        };
        let mut seen = HashSet::new();
        let mut columns = Vec::new();
        for mapped in &self.columns {
            let column = mapped.column.clone();
            if !seen.insert(column.to_ascii_lowercase()) {
                problems.push(MappingProblem::DuplicateColumn { column });
                continue;
            }
            let Some(field) = find(&mapped.column) else {
                problems.push(MappingProblem::UnknownColumn {
                    column,
                    source: mapped.source,
                });
                continue;
            };
            if let Some(reason) = field.read_only() {
                problems.push(MappingProblem::ReadOnly { column, reason });
                continue;
            }
            if !mapped.source.fits(&field.field_type) {
                problems.push(MappingProblem::WrongType {
                    column,
                    source: mapped.source,
                    found: field.field_type.as_str().to_owned(),
                });
                continue;
            }
            columns.push(MappedColumn {
                source: mapped.source,
                column: field.name.clone(),
                field_type: field.field_type.clone(),
            });
        }
        let key = match find(&self.key_column) {
            None => {
                problems.push(MappingProblem::UnknownKeyColumn {
                    column: self.key_column.clone(),
                });
                None
            }
            Some(field) => {
                if !field.unique {
                    problems.push(MappingProblem::KeyNotUnique {
                        column: field.name.to_string(),
                    });
                }
                let filled_with_id = self.columns.iter().any(|mapped| {
                    mapped.source == Source::AppointmentId
                        && mapped.column.eq_ignore_ascii_case(field.name.as_str())
                });
                if !filled_with_id {
                    problems.push(MappingProblem::KeyNotAppointmentId {
                        column: field.name.to_string(),
                    });
                }
                Some(field.name.clone())
            }
        };
        match (table, time_zone, key) {
            (Some(table), Some(time_zone), Some(key)) if problems.is_empty() => Ok(ValidMapping {
                table,
                key,
                time_zone,
                include_patient_details: self.include_patient_details,
                columns,
            }),
            _ => Err(MappingError {
                table: self.table.clone(),
                problems,
            }),
        }
    }
}

/// One problem of a mapping, against the table's live fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingProblem {
    /// The table name is not one Caspio allows.
    BadTableName,
    /// The time zone is not an IANA name this build knows.
    UnknownTimeZone {
        /// As configured.
        time_zone: String,
    },
    /// A mapped column does not exist in the table.
    UnknownColumn {
        /// The column.
        column: String,
        /// What it was to be filled with.
        source: Source,
    },
    /// A column is mapped twice.
    DuplicateColumn {
        /// The column.
        column: String,
    },
    /// A mapped column's type does not fit its source.
    WrongType {
        /// The column.
        column: String,
        /// What it was to be filled with.
        source: Source,
        /// The column's type.
        found: String,
    },
    /// A mapped column cannot be written.
    ReadOnly {
        /// The column.
        column: String,
        /// Why.
        reason: ReadOnlyReason,
    },
    /// The key column does not exist.
    UnknownKeyColumn {
        /// The column.
        column: String,
    },
    /// The key column is not marked Unique in Caspio.
    KeyNotUnique {
        /// The column.
        column: String,
    },
    /// The key column is not filled with the appointment id.
    KeyNotAppointmentId {
        /// The column.
        column: String,
    },
}

impl fmt::Display for MappingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MappingProblem::BadTableName => {
                f.write_str("the table name is not a valid Caspio table name")
            }
            MappingProblem::UnknownTimeZone { time_zone } => {
                write!(f, "\u{201c}{time_zone}\u{201d} is not a known time zone")
            }
            MappingProblem::UnknownColumn { column, source } => write!(
                f,
                "column {column} (for the {}) does not exist in the table",
                source.label()
            ),
            MappingProblem::DuplicateColumn { column } => {
                write!(f, "column {column} is mapped more than once")
            }
            MappingProblem::WrongType {
                column,
                source,
                found,
            } => write!(
                f,
                "column {column} is of type {found}, but the {} needs {}",
                source.label(),
                source.expected()
            ),
            MappingProblem::ReadOnly { column, reason } => {
                write!(f, "column {column} cannot be written: {reason}")
            }
            MappingProblem::UnknownKeyColumn { column } => {
                write!(f, "the key column {column} does not exist in the table")
            }
            MappingProblem::KeyNotUnique { column } => write!(
                f,
                "the key column {column} is not marked Unique in Caspio, so a push could not \
                 prevent duplicate rows; mark it Unique in the table's design"
            ),
            MappingProblem::KeyNotAppointmentId { column } => write!(
                f,
                "the key column {column} must be filled with the appointment id"
            ),
        }
    }
}

/// Why a mapping does not fit its table: every problem found. Holds no patient data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "The Caspio settings do not fit table {table}: {}. Nothing was written.",
    .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
)]
pub struct MappingError {
    /// The table, as configured.
    pub table: String,
    /// Every problem.
    pub problems: Vec<MappingProblem>,
}

/// A column that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MappedColumn {
    pub(crate) source: Source,
    pub(crate) column: ColumnName,
    pub(crate) field_type: FieldType,
}

/// A mapping checked against the live table.
#[derive(Debug, Clone)]
pub struct ValidMapping {
    pub(crate) table: TableName,
    pub(crate) key: ColumnName,
    pub(crate) time_zone: TimeZone,
    pub(crate) include_patient_details: bool,
    pub(crate) columns: Vec<MappedColumn>,
}

/// What a push reads of one stored appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushSource {
    pub(crate) id: String,
    pub(crate) status: String,
    pub(crate) start_time: String,
    pub(crate) created_time_utc: Option<String>,
    pub(crate) last_modified_time_utc: Option<String>,
    pub(crate) provider_location_id: String,
    pub(crate) visit_reason_id: String,
    pub(crate) patient_type: Option<String>,
    pub(crate) cancellation_reason: Option<String>,
    pub(crate) arrived: bool,
}

impl ValidMapping {
    /// The table.
    pub fn table(&self) -> &TableName {
        &self.table
    }

    /// The key column.
    pub fn key(&self) -> &ColumnName {
        &self.key
    }

    /// The columns a push writes (patient columns only with patient details on).
    pub(crate) fn written(&self) -> impl Iterator<Item = &MappedColumn> {
        self.columns
            .iter()
            .filter(|mapped| self.include_patient_details || !mapped.source.is_patient_detail())
    }

    /// The values `appointment` yields, column → value. Patient columns are left out when
    /// patient details are off, or when `patient` (the stored participants JSON) is absent, so a
    /// push never blanks what Caspio already has.
    pub(crate) fn values(&self, appointment: &PushSource, patient: Option<&Value>) -> Record {
        let mut record = Record::new();
        for mapped in self.written() {
            let value = match mapped.source {
                Source::AppointmentId => Value::from(appointment.id.as_str()),
                Source::Status => Value::from(appointment.status.as_str()),
                Source::Start => self.local(Some(&appointment.start_time)),
                Source::Created => self.local(appointment.created_time_utc.as_deref()),
                Source::LastModified => self.local(appointment.last_modified_time_utc.as_deref()),
                Source::Provider => part(&appointment.provider_location_id, 0),
                Source::Location => part(&appointment.provider_location_id, 1),
                Source::VisitReason => Value::from(appointment.visit_reason_id.as_str()),
                Source::PatientType => text(appointment.patient_type.as_deref()),
                Source::CancellationReason => text(appointment.cancellation_reason.as_deref()),
                Source::Arrived => Value::Bool(appointment.arrived),
                detail => {
                    let Some(patient) = patient.and_then(|p| p.get("patient")) else {
                        continue;
                    };
                    let field = |name: &str| text(patient.get(name).and_then(Value::as_str));
                    match detail {
                        Source::PatientFirstName => field("first_name"),
                        Source::PatientLastName => field("last_name"),
                        Source::PatientPhone => field("phone_number"),
                        Source::PatientEmail => field("email_address"),
                        _ => date(
                            patient.get("date_of_birth").and_then(Value::as_str),
                            &mapped.field_type,
                        ),
                    }
                }
            };
            record.insert(mapped.column.to_string(), value);
        }
        record
    }

    /// A stored UTC time as a local date-time in the practice's zone, `YYYY-MM-DDTHH:MM:SS`.
    fn local(&self, utc: Option<&str>) -> Value {
        utc.and_then(|text| text.parse::<Timestamp>().ok())
            .map_or(Value::Null, |instant| {
                let local = instant.to_zoned_datetime(self.time_zone.clone()).datetime();
                Value::from(local.strftime("%Y-%m-%dT%H:%M:%S").to_string())
            })
    }

    /// The columns whose value in `existing` (Caspio's row) differs from `values`.
    pub(crate) fn differences(&self, values: &Record, existing: &Record) -> Vec<String> {
        values
            .iter()
            .filter(|(column, value)| {
                let stored = existing
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(column))
                    .map_or(&Value::Null, |(_, stored)| stored);
                !same(value, stored)
            })
            .map(|(column, _)| column.clone())
            .collect()
    }
}

/// Whether Caspio's stored value is what we would write: dates compare as date-times (Caspio
/// may add seconds), text exactly, everything else as JSON.
fn same(ours: &Value, stored: &Value) -> bool {
    match (ours, stored) {
        (Value::String(a), Value::String(b)) => {
            a == b
                || matches!(
                    (a.parse::<jiff::civil::DateTime>(), b.parse::<jiff::civil::DateTime>()),
                    (Ok(x), Ok(y)) if x == y
                )
        }
        _ => ours == stored,
    }
}

fn text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, Value::from)
}

/// Part `index` of a `provider|location` id.
fn part(provider_location: &str, index: usize) -> Value {
    provider_location
        .split('|')
        .nth(index)
        .filter(|part| !part.is_empty())
        .map_or(Value::Null, Value::from)
}

/// A date as the column takes it: midnight for DATE/TIME, `YYYY-MM-DD` for text.
fn date(value: Option<&str>, field_type: &FieldType) -> Value {
    let Some(date) = value.and_then(|text| text.parse::<Date>().ok()) else {
        return Value::Null;
    };
    if *field_type == FieldType::DateTime {
        Value::from(format!("{date}T00:00:00"))
    } else {
        Value::from(date.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(name: &str, field_type: &str, unique: bool) -> Field {
        Field {
            name: ColumnName::new(name).unwrap(),
            field_type: FieldType::from_wire(field_type),
            unique,
            is_formula: false,
            description: None,
        }
    }

    fn fields() -> Vec<Field> {
        let mut fields = vec![
            field("PK_ID", "AUTONUMBER", true),
            field("ZocdocAppointmentId", "TEXT", true),
            field("Status", "TEXT", false),
            field("StartLocal", "DATE/TIME", false),
            field("ProviderId", "TEXT", false),
            field("LocationId", "TEXT", false),
            field("VisitReasonId", "TEXT", false),
            field("PatientType", "TEXT", false),
            field("CreatedLocal", "DATE/TIME", false),
            field("LastModifiedLocal", "DATE/TIME", false),
            field("CancellationReason", "TEXT", false),
            field("Arrived", "YES/NO", false),
            field("PatientFirstName", "TEXT", false),
            field("PatientLastName", "TEXT", false),
            field("PatientPhone", "TEXT", false),
            field("PatientEmail", "TEXT", false),
            field("PatientDateOfBirth", "DATE/TIME", false),
            field("Updated", "TIMESTAMP", false),
        ];
        let mut formula = field("DaysToStart", "NUMBER", false);
        formula.is_formula = true;
        fields.push(formula);
        fields
    }

    fn source() -> PushSource {
        PushSource {
            id: "a'1".to_owned(),
            status: "confirmed".to_owned(),
            start_time: "2026-03-10T14:30:00.000000Z".to_owned(),
            created_time_utc: Some("2026-03-01T00:00:00.000000Z".to_owned()),
            last_modified_time_utc: None,
            provider_location_id: "pr_a|lo_b".to_owned(),
            visit_reason_id: "pc_d".to_owned(),
            patient_type: Some("new".to_owned()),
            cancellation_reason: None,
            arrived: true,
        }
    }

    #[test]
    fn the_default_mapping_fits_the_default_table() {
        let valid = Mapping::default_appointments("America/New_York")
            .validate(&fields())
            .unwrap();
        assert_eq!(valid.key().as_str(), "ZocdocAppointmentId");
        assert_eq!(
            valid.written().count(),
            11,
            "patient columns are off by default"
        );
    }

    #[test]
    fn every_problem_is_listed_before_any_write() {
        let mut mapping = Mapping::default_appointments("Mars/Olympus");
        mapping.columns.push(ColumnMapping {
            source: Source::Status,
            column: "Nope".to_owned(),
        });
        mapping.columns.push(ColumnMapping {
            source: Source::Start,
            column: "Arrived".to_owned(),
        });
        mapping.columns.push(ColumnMapping {
            source: Source::Status,
            column: "Updated".to_owned(),
        });
        mapping.columns.push(ColumnMapping {
            source: Source::Status,
            column: "DaysToStart".to_owned(),
        });
        mapping.columns[10].column = "Status".to_owned();
        let error = mapping.validate(&fields()).unwrap_err();
        assert!(error.problems.contains(&MappingProblem::UnknownTimeZone {
            time_zone: "Mars/Olympus".to_owned()
        }));
        assert!(error.problems.contains(&MappingProblem::UnknownColumn {
            column: "Nope".to_owned(),
            source: Source::Status
        }));
        assert!(error.problems.contains(&MappingProblem::WrongType {
            column: "Arrived".to_owned(),
            source: Source::Start,
            found: "YES/NO".to_owned()
        }));
        assert!(error.problems.contains(&MappingProblem::ReadOnly {
            column: "Updated".to_owned(),
            reason: ReadOnlyReason::Generated
        }));
        assert!(error.problems.contains(&MappingProblem::ReadOnly {
            column: "DaysToStart".to_owned(),
            reason: ReadOnlyReason::Formula
        }));
        assert!(error.problems.contains(&MappingProblem::DuplicateColumn {
            column: "Status".to_owned()
        }));
        let text = error.to_string();
        assert!(text.contains("Nothing was written"), "{text}");

        let mut mapping = Mapping::default_appointments("UTC");
        mapping.columns[1].source = Source::Arrived;
        assert!(mapping.validate(&fields()).unwrap_err().problems.contains(
            &MappingProblem::WrongType {
                column: "Status".to_owned(),
                source: Source::Arrived,
                found: "TEXT".to_owned()
            }
        ));

        let mut not_unique = fields();
        not_unique[1].unique = false;
        assert_eq!(
            Mapping::default_appointments("UTC")
                .validate(&not_unique)
                .unwrap_err()
                .problems,
            vec![MappingProblem::KeyNotUnique {
                column: "ZocdocAppointmentId".to_owned()
            }]
        );
        let mut keyed_on_status = Mapping::default_appointments("UTC");
        keyed_on_status.key_column = "PatientType".to_owned();
        let mut unique_type = fields();
        unique_type[7].unique = true;
        assert_eq!(
            keyed_on_status.validate(&unique_type).unwrap_err().problems,
            vec![MappingProblem::KeyNotAppointmentId {
                column: "PatientType".to_owned()
            }]
        );
    }

    #[test]
    fn values_are_local_times_and_patient_details_only_when_on() {
        let mut mapping = Mapping::default_appointments("America/New_York");
        let valid = mapping.validate(&fields()).unwrap();
        let patient = json!({"patient": {"first_name": "Ann", "last_name": "O'Brien",
            "phone_number": "2125550100", "email_address": "ann@example.com",
            "date_of_birth": "1980-02-03"}});
        let values = valid.values(&source(), Some(&patient));
        assert_eq!(values["StartLocal"], "2026-03-10T10:30:00", "EDT is UTC-4");
        assert_eq!(
            values["CreatedLocal"], "2026-02-28T19:00:00",
            "EST is UTC-5"
        );
        assert_eq!(values["LastModifiedLocal"], Value::Null);
        assert_eq!(values["ProviderId"], "pr_a");
        assert_eq!(values["LocationId"], "lo_b");
        assert_eq!(values["Arrived"], true);
        assert_eq!(values["ZocdocAppointmentId"], "a'1");
        assert!(!values.contains_key("PatientLastName"));

        mapping.include_patient_details = true;
        let valid = mapping.validate(&fields()).unwrap();
        let values = valid.values(&source(), Some(&patient));
        assert_eq!(values["PatientLastName"], "O'Brien");
        assert_eq!(values["PatientDateOfBirth"], "1980-02-03T00:00:00");
        let without = valid.values(&source(), None);
        assert!(!without.contains_key("PatientFirstName"), "never blanked");
    }

    #[test]
    fn differences_ignore_how_caspio_writes_dates() {
        let valid = Mapping::default_appointments("UTC")
            .validate(&fields())
            .unwrap();
        let values = valid.values(&source(), None);
        let mut existing: Record = values.clone();
        existing.insert("PK_ID".to_owned(), json!(4));
        existing.insert("StartLocal".to_owned(), json!("2026-03-10T14:30"));
        assert!(valid.differences(&values, &existing).is_empty());
        existing.insert("Status".to_owned(), json!("cancelled"));
        existing.remove("PatientType");
        let mut changed = valid.differences(&values, &existing);
        changed.sort();
        assert_eq!(changed, vec!["PatientType".to_owned(), "Status".to_owned()]);
    }
}
