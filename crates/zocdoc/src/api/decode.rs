//! Decoding the API's JSON answers into the client's types.
//!
//! Written by hand over `serde_json::Value` rather than derived, for two reasons: a decode error
//! names the field but never quotes a value (serde's messages quote the offending value, which
//! could be a patient's name), and the leniency rules are explicit:
//! - unknown fields are ignored, unknown enum values are kept (`Other`);
//! - `null` counts as an absent field;
//! - a field the spec requires must be present with its documented JSON type and format;
//! - `request_id` is optional in every envelope (it only serves tracing).
//!
//! The `decode_*` functions take the raw body and never panic, whatever the bytes.

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value};

use super::directory::{
    Location, Provider, ProviderLocation, ProviderLocationType, VirtualLocation, VisitReason,
};
use super::error::{ApiErrorDetail, ErrorResult, ErrorType};
use super::ids::RequestId;
use super::model::{
    Appointment, AppointmentStatus, ConfirmationType, OffsetTime, Page, PatientType,
    RescheduledAppointment, StatusChange, VisitType,
};
use super::participants::{
    Address, Attachment, AttachmentType, DocumentSide, Gender, Insurance, Participants, Patient,
    Sex,
};

/// Why an answer could not be decoded. Names a field (a JSON path such as `data[3].start_time`),
/// never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body is not JSON (or not UTF-8).
    #[error("the answer is not valid JSON (line {line}, column {column})")]
    NotJson {
        /// Line of the first error, from 1 (0 when the body ended early).
        line: usize,
        /// Column of the first error, from 1.
        column: usize,
    },
    /// A required field is absent or `null` (or an empty id).
    #[error("the answer lacks the required field `{field}`")]
    Missing {
        /// JSON path of the field.
        field: String,
    },
    /// A field has the wrong JSON type.
    #[error("the answer's field `{field}` has the wrong type")]
    WrongType {
        /// JSON path of the field.
        field: String,
    },
    /// A date or time field is not in the spec's format.
    #[error("the answer's field `{field}` is not in the documented format")]
    BadFormat {
        /// JSON path of the field.
        field: String,
    },
    /// The body is larger than the client accepts.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

/// Decodes `GET /v1/appointments/{id}` (`AppointmentStatusResponse`).
pub fn decode_appointment(body: &[u8]) -> Result<Appointment, DecodeError> {
    let value = parse_json(body)?;
    let root = Fields::root(&value)?;
    appointment(&root.object("data")?)
}

/// Decodes one page of `GET /v1/appointments` (`AppointmentStatusListResponse`).
pub fn decode_appointment_page(body: &[u8]) -> Result<Page, DecodeError> {
    let value = parse_json(body)?;
    let root = Fields::root(&value)?;
    let appointments = root
        .array("data")?
        .iter()
        .enumerate()
        .map(|(index, item)| appointment(&Fields::element(&root, "data", index, item)?))
        .collect::<Result<_, _>>()?;
    Ok(Page {
        request_id: request_id(&root)?,
        page: root.u32("page")?,
        page_size: root.u32("page_size")?,
        total_count: root.u64("total_count")?,
        next_url: root.opt_str("next_url")?.map(str::to_owned),
        appointments,
    })
}

/// Decodes `GET /v1/appointments/{id}/participants` (`AppointmentParticipantsResponse`).
pub fn decode_participants(body: &[u8]) -> Result<Participants, DecodeError> {
    let value = parse_json(body)?;
    let root = Fields::root(&value)?;
    let data = root.object("data")?;
    Ok(Participants {
        patient: patient(&data.object("patient")?)?,
        provider_id: data.id("provider_id")?.into(),
        location_id: data.id("location_id")?.into(),
    })
}

/// Decodes the answer of confirm, cancel and update-status (`AppointmentBaseResponse`).
pub fn decode_status_change(body: &[u8]) -> Result<StatusChange, DecodeError> {
    let value = parse_json(body)?;
    let root = Fields::root(&value)?;
    let data = root.object("data")?;
    Ok(StatusChange {
        request_id: request_id(&root)?,
        appointment_id: data.id("appointment_id")?.into(),
        appointment_status: AppointmentStatus::from_wire(data.str("appointment_status")?),
        developer_patient_id: data.opt_str("developer_patient_id")?.map(Into::into),
    })
}

/// Decodes the answer of reschedule (`AppointmentResponse`).
pub fn decode_rescheduled(body: &[u8]) -> Result<RescheduledAppointment, DecodeError> {
    let value = parse_json(body)?;
    let root = Fields::root(&value)?;
    let data = root.object("data")?;
    Ok(RescheduledAppointment {
        request_id: request_id(&root)?,
        appointment_id: data.id("appointment_id")?.into(),
        appointment_status: AppointmentStatus::from_wire(data.str("appointment_status")?),
        developer_patient_id: data.opt_str("developer_patient_id")?.map(Into::into),
        is_provider_resource: data.bool("is_provider_resource")?,
        location_phone_number: data.opt_string("location_phone_number")?,
        location_phone_extension: data.opt_string("location_phone_extension")?,
        waiting_room_path: data.opt_string("waiting_room_path")?,
        confirmation_type: ConfirmationType::from_wire(data.str("confirmation_type")?),
        visit_type: VisitType::from_wire(data.str("visit_type")?),
        notes: data.opt_string("notes")?,
    })
}

/// Decodes `GET /v1/provider_locations/{id}` (`ProviderLocationResult`). `location` and
/// `virtual_location` are read when present (one or the other, by the provider location's type);
/// every field of `provider` is optional.
pub fn decode_provider_location(body: &[u8]) -> Result<ProviderLocation, DecodeError> {
    let value = parse_json(body)?;
    let root = Fields::root(&value)?;
    let data = root.object("data")?;
    let provider = data.object("provider")?;
    Ok(ProviderLocation {
        provider_location_id: data.id("provider_location_id")?.into(),
        provider_location_type: ProviderLocationType::from_wire(
            data.str("provider_location_type")?,
        ),
        provider: Provider {
            provider_id: provider.opt_str("provider_id")?.map(Into::into),
            first_name: provider.opt_string("first_name")?,
            last_name: provider.opt_string("last_name")?,
            title: provider.opt_string("title")?,
            full_name: provider.opt_string("full_name")?,
        },
        location: data
            .opt_object("location")?
            .map(|location| location_of(&location))
            .transpose()?,
        virtual_location: data
            .opt_object("virtual_location")?
            .map(|place| {
                Ok(VirtualLocation {
                    location_name: place.opt_string("location_name")?,
                })
            })
            .transpose()?,
    })
}

/// Decodes `GET /v1/visit_reasons/{id}` (`VisitReasonByIdResponse`).
pub fn decode_visit_reason(body: &[u8]) -> Result<VisitReason, DecodeError> {
    let value = parse_json(body)?;
    let root = Fields::root(&value)?;
    let data = root.object("data")?;
    Ok(VisitReason {
        visit_reason_id: data.id("id")?.into(),
        name: data.str("name")?.to_owned(),
    })
}

/// Decodes an `ErrorResult` body as far as it goes: `None` when the body is not a JSON object.
/// Error bodies are best effort (the status code already says what happened), so a missing
/// `error_type` or a malformed entry of `errors` is skipped rather than failing.
pub fn decode_error_result(body: &[u8]) -> Option<ErrorResult> {
    let value = parse_json(body).ok()?;
    let root = Fields::root(&value).ok()?;
    let errors = match root.map.get("errors") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| {
                let item = item.as_object()?;
                Some(ApiErrorDetail {
                    message: item.get("message")?.as_str()?.to_owned(),
                    field: item.get("field").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(ErrorResult {
        request_id: root
            .map
            .get("request_id")
            .and_then(Value::as_str)
            .map(RequestId::from),
        error_type: root
            .map
            .get("error_type")
            .and_then(Value::as_str)
            .map(ErrorType::from_wire),
        errors,
    })
}

/// `AppointmentStatusResponseData`.
fn appointment(data: &Fields<'_>) -> Result<Appointment, DecodeError> {
    Ok(Appointment {
        appointment_id: data.id("appointment_id")?.into(),
        appointment_status: AppointmentStatus::from_wire(data.str("appointment_status")?),
        developer_patient_id: data.opt_str("developer_patient_id")?.map(Into::into),
        is_provider_resource: data.bool("is_provider_resource")?,
        location_phone_number: data.opt_string("location_phone_number")?,
        location_phone_extension: data.opt_string("location_phone_extension")?,
        waiting_room_path: data.opt_string("waiting_room_path")?,
        confirmation_type: ConfirmationType::from_wire(data.str("confirmation_type")?),
        start_time: data.offset_time("start_time")?,
        created_time_utc: data.opt_instant("created_time_utc")?,
        last_modified_time_utc: data.opt_instant("last_modified_time_utc")?,
        provider_location_id: data.id("provider_location_id")?.into(),
        practice_id: data.opt_str("practice_id")?.map(Into::into),
        visit_reason_id: data.str("visit_reason_id")?.into(),
        visit_type: data.opt_str("visit_type")?.map(VisitType::from_wire),
        patient_type: data.opt_str("patient_type")?.map(PatientType::from_wire),
        notes: data.opt_string("notes")?,
        cancellation_reason: data.opt_string("cancellation_reason")?,
        source: data.opt_string("source")?,
    })
}

/// `BaseLocation`: its name and the address line and city it is shown with.
fn location_of(data: &Fields<'_>) -> Result<Location, DecodeError> {
    Ok(Location {
        location_name: data.opt_string("location_name")?,
        address1: data.str("address1")?.to_owned(),
        city: data.str("city")?.to_owned(),
    })
}

/// `AppointmentParticipantPatient`.
fn patient(data: &Fields<'_>) -> Result<Patient, DecodeError> {
    let gender = match data.opt_array("gender")? {
        None => Vec::new(),
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                item.as_str()
                    .map(Gender::from_wire)
                    .ok_or_else(|| DecodeError::WrongType {
                        field: format!("{}.gender[{index}]", data.path),
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let uploaded_attachments = data
        .array("uploaded_attachments")?
        .iter()
        .enumerate()
        .map(|(index, item)| {
            attachment(&Fields::element(data, "uploaded_attachments", index, item)?)
        })
        .collect::<Result<_, _>>()?;
    Ok(Patient {
        patient_id: data.opt_str("patient_id")?.map(Into::into),
        developer_patient_id: data.opt_str("developer_patient_id")?.map(Into::into),
        first_name: data.str("first_name")?.to_owned(),
        last_name: data.str("last_name")?.to_owned(),
        date_of_birth: data.date("date_of_birth")?,
        sex_at_birth: Sex::from_wire(data.str("sex_at_birth")?),
        phone_number: data.str("phone_number")?.to_owned(),
        email_address: data.str("email_address")?.to_owned(),
        address: address(&data.object("patient_address")?)?,
        insurance: data
            .opt_object("insurance")?
            .map(|i| insurance(&i))
            .transpose()?,
        gender,
        uploaded_attachments,
        is_booked_by_another_patient: data.bool("is_booked_by_another_patient")?,
    })
}

fn address(data: &Fields<'_>) -> Result<Address, DecodeError> {
    Ok(Address {
        address1: data.str("address1")?.to_owned(),
        address2: data.opt_string("address2")?,
        city: data.str("city")?.to_owned(),
        state: data.str("state")?.to_owned(),
        zip_code: data.str("zip_code")?.to_owned(),
    })
}

fn insurance(data: &Fields<'_>) -> Result<Insurance, DecodeError> {
    Ok(Insurance {
        insurance_plan_id: data.opt_str("insurance_plan_id")?.map(Into::into),
        insurance_group_number: data.opt_string("insurance_group_number")?,
        insurance_member_id: data.opt_string("insurance_member_id")?,
        is_self_pay: data.opt_bool("is_self_pay")?,
    })
}

fn attachment(data: &Fields<'_>) -> Result<Attachment, DecodeError> {
    Ok(Attachment {
        attachment_type: AttachmentType::from_wire(data.str("attachment_type")?),
        attachment_url: data.str("attachment_url")?.to_owned(),
        side: data.opt_str("side")?.map(DocumentSide::from_wire),
    })
}

/// `request_id` of an envelope; optional (see the module docs).
fn request_id(root: &Fields<'_>) -> Result<Option<RequestId>, DecodeError> {
    Ok(root.opt_str("request_id")?.map(Into::into))
}

/// Parses a body as JSON.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, DecodeError> {
    serde_json::from_slice(body).map_err(|error| DecodeError::NotJson {
        line: error.line(),
        column: error.column(),
    })
}

/// One JSON object and its path in the body, for error messages.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    /// The root object of a parsed body.
    pub(crate) fn root(value: &'a Value) -> Result<Fields<'a>, DecodeError> {
        match value {
            Value::Object(map) => Ok(Fields {
                map,
                path: String::new(),
            }),
            _ => Err(DecodeError::WrongType {
                field: "(body)".to_owned(),
            }),
        }
    }

    /// The element `index` of the array `name` of `parent`, which must be an object.
    fn element(
        parent: &Fields<'_>,
        name: &str,
        index: usize,
        item: &'a Value,
    ) -> Result<Fields<'a>, DecodeError> {
        let path = format!("{}[{index}]", parent.join(name));
        match item {
            Value::Object(map) => Ok(Fields { map, path }),
            _ => Err(DecodeError::WrongType { field: path }),
        }
    }

    fn join(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn missing(&self, name: &str) -> DecodeError {
        DecodeError::Missing {
            field: self.join(name),
        }
    }

    fn wrong_type(&self, name: &str) -> DecodeError {
        DecodeError::WrongType {
            field: self.join(name),
        }
    }

    fn bad_format(&self, name: &str) -> DecodeError {
        DecodeError::BadFormat {
            field: self.join(name),
        }
    }

    /// The field's value; `None` when absent or `null`.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|value| !value.is_null())
    }

    pub(crate) fn str(&self, name: &str) -> Result<&'a str, DecodeError> {
        self.opt_str(name)?.ok_or_else(|| self.missing(name))
    }

    pub(crate) fn opt_str(&self, name: &str) -> Result<Option<&'a str>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(self.wrong_type(name)),
        }
    }

    fn opt_string(&self, name: &str) -> Result<Option<String>, DecodeError> {
        Ok(self.opt_str(name)?.map(str::to_owned))
    }

    /// A required id: a non-empty string.
    fn id(&self, name: &str) -> Result<&'a str, DecodeError> {
        match self.str(name)? {
            "" => Err(self.missing(name)),
            text => Ok(text),
        }
    }

    fn bool(&self, name: &str) -> Result<bool, DecodeError> {
        self.opt_bool(name)?.ok_or_else(|| self.missing(name))
    }

    fn opt_bool(&self, name: &str) -> Result<Option<bool>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(*value)),
            Some(_) => Err(self.wrong_type(name)),
        }
    }

    pub(crate) fn u64(&self, name: &str) -> Result<u64, DecodeError> {
        match self.get(name) {
            None => Err(self.missing(name)),
            Some(value) => value.as_u64().ok_or_else(|| self.wrong_type(name)),
        }
    }

    fn u32(&self, name: &str) -> Result<u32, DecodeError> {
        u32::try_from(self.u64(name)?).map_err(|_| self.wrong_type(name))
    }

    fn object(&self, name: &str) -> Result<Fields<'a>, DecodeError> {
        self.opt_object(name)?.ok_or_else(|| self.missing(name))
    }

    fn opt_object(&self, name: &str) -> Result<Option<Fields<'a>>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields {
                map,
                path: self.join(name),
            })),
            Some(_) => Err(self.wrong_type(name)),
        }
    }

    fn array(&self, name: &str) -> Result<&'a [Value], DecodeError> {
        self.opt_array(name)?.ok_or_else(|| self.missing(name))
    }

    fn opt_array(&self, name: &str) -> Result<Option<&'a [Value]>, DecodeError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(self.wrong_type(name)),
        }
    }

    /// `format: date-time` with an offset.
    fn offset_time(&self, name: &str) -> Result<OffsetTime, DecodeError> {
        OffsetTime::parse(self.str(name)?).map_err(|_| self.bad_format(name))
    }

    /// `format: instant` (`2024-01-01T09:30:00Z`), optional.
    fn opt_instant(&self, name: &str) -> Result<Option<Timestamp>, DecodeError> {
        self.opt_str(name)?
            .map(|text| text.parse().map_err(|_| self.bad_format(name)))
            .transpose()
    }

    /// `format: date` (`YYYY-MM-DD`, exactly).
    fn date(&self, name: &str) -> Result<Date, DecodeError> {
        let text = self.str(name)?;
        if text.len() != 10 {
            return Err(self.bad_format(name));
        }
        text.parse().map_err(|_| self.bad_format(name))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn appointment_value() -> Value {
        json!({
            "appointment_id": "d2ee5bd8-643a-42c8-8c5a-be450e903430",
            "appointment_status": "confirmed",
            "developer_patient_id": null,
            "is_provider_resource": true,
            "confirmation_type": "auto",
            "start_time": "2022-04-27T09:00:00-04:00",
            "created_time_utc": "2024-01-01T09:30:00Z",
            "last_modified_time_utc": "2024-01-02T09:30:00.25Z",
            "provider_location_id": "pr_a|lo_b",
            "visit_reason_id": "pc_1",
            "visit_type": "zocdoc_video_service",
        })
    }

    fn bytes(value: &Value) -> Vec<u8> {
        serde_json::to_vec(value).unwrap()
    }

    #[test]
    fn an_appointment_with_only_the_required_fields_decodes() {
        let body = json!({"request_id": "r1", "data": appointment_value()});
        let appointment = decode_appointment(&bytes(&body)).unwrap();
        assert_eq!(appointment.appointment_status, AppointmentStatus::Confirmed);
        assert!(appointment.is_provider_resource);
        assert_eq!(appointment.developer_patient_id, None);
        assert_eq!(appointment.visit_type, Some(VisitType::ZocdocVideoService));
        assert_eq!(
            appointment.last_modified_time_utc.unwrap().to_string(),
            "2024-01-02T09:30:00.25Z"
        );
        assert_eq!(appointment.notes, None);
    }

    #[test]
    fn errors_name_the_field_and_never_its_value() {
        let mut data = appointment_value();
        data["start_time"] = json!("2022-04-27T09:00:00 John Smith");
        let page = json!({
            "page": 0, "page_size": 2, "total_count": 2, "next_url": null,
            "data": [appointment_value(), data],
        });
        let error = decode_appointment_page(&bytes(&page)).unwrap_err();
        assert_eq!(
            error,
            DecodeError::BadFormat {
                field: "data[1].start_time".to_owned()
            }
        );
        assert!(!format!("{error} {error:?}").contains("John"));

        let mut data = appointment_value();
        data["is_provider_resource"] = json!("Jane Doe");
        let error = decode_appointment(&bytes(&json!({"data": data}))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the answer's field `data.is_provider_resource` has the wrong type"
        );
        assert!(!format!("{error:?}").contains("Jane"));

        let mut data = appointment_value();
        data.as_object_mut().unwrap().remove("visit_reason_id");
        assert_eq!(
            decode_appointment(&bytes(&json!({"data": data}))).unwrap_err(),
            DecodeError::Missing {
                field: "data.visit_reason_id".to_owned()
            }
        );
        let mut data = appointment_value();
        data["appointment_id"] = json!("");
        assert_eq!(
            decode_appointment(&bytes(&json!({"data": data}))).unwrap_err(),
            DecodeError::Missing {
                field: "data.appointment_id".to_owned()
            }
        );
        assert_eq!(
            decode_appointment(b"[1]").unwrap_err(),
            DecodeError::WrongType {
                field: "(body)".to_owned()
            }
        );
        assert!(matches!(
            decode_appointment(b"{\"data\": "),
            Err(DecodeError::NotJson { .. })
        ));
    }

    #[test]
    fn a_page_needs_its_paging_fields() {
        let page = json!({"page": 1, "page_size": 100, "total_count": 1500, "next_url": "https://x/y", "data": []});
        let decoded = decode_appointment_page(&bytes(&page)).unwrap();
        assert_eq!(
            (decoded.page, decoded.page_size, decoded.total_count),
            (1, 100, 1500)
        );
        assert_eq!(decoded.next_url.as_deref(), Some("https://x/y"));
        assert_eq!(decoded.request_id, None);
        let negative = json!({"page": -1, "page_size": 100, "total_count": 0, "data": []});
        assert_eq!(
            decode_appointment_page(&bytes(&negative)).unwrap_err(),
            DecodeError::WrongType {
                field: "page".to_owned()
            }
        );
    }

    #[test]
    fn a_date_of_birth_must_be_a_plain_date() {
        let patient = |dob: &str| {
            json!({"data": {
                "provider_id": "pr", "location_id": "lo",
                "patient": {
                    "first_name": "A", "last_name": "B", "date_of_birth": dob,
                    "sex_at_birth": "male", "phone_number": "2125550100",
                    "email_address": "a@b.c",
                    "patient_address": {"address1": "x", "city": "y", "state": "NY", "zip_code": "10001"},
                    "uploaded_attachments": [], "is_booked_by_another_patient": true
                }
            }})
        };
        let decoded = decode_participants(&bytes(&patient("1980-02-03"))).unwrap();
        assert_eq!(
            decoded.patient.date_of_birth,
            Date::new(1980, 2, 3).unwrap()
        );
        assert_eq!(decoded.patient.gender, []);
        for bad in ["1980-02-03T00:00", "03/02/1980", "1980-13-01"] {
            assert_eq!(
                decode_participants(&bytes(&patient(bad))).unwrap_err(),
                DecodeError::BadFormat {
                    field: "data.patient.date_of_birth".to_owned()
                },
                "{bad}"
            );
        }
    }

    #[test]
    fn write_answers_decode() {
        let change = json!({"request_id": "r", "data": {
            "appointment_id": "a", "appointment_status": "cancelled", "developer_patient_id": "p"
        }});
        let decoded = decode_status_change(&bytes(&change)).unwrap();
        assert_eq!(decoded.appointment_status, AppointmentStatus::Cancelled);
        assert_eq!(decoded.request_id.unwrap().as_str(), "r");
        let moved = json!({"data": {
            "appointment_id": "a", "appointment_status": "pending_reschedule",
            "is_provider_resource": false, "confirmation_type": "manual",
            "visit_type": "in_person", "notes": "secret notes"
        }});
        let decoded = decode_rescheduled(&bytes(&moved)).unwrap();
        assert_eq!(
            decoded.appointment_status,
            AppointmentStatus::PendingReschedule
        );
        assert!(!format!("{decoded:?}").contains("secret notes"));
    }

    fn provider_location_value() -> Value {
        json!({
            "provider_location_id": "pr_a|lo_b",
            "provider_location_type": "in_person_provider",
            "accepts_patient_insurance": "insurance_not_specified",
            "provider": {"provider_id": "pr_a", "first_name": "Ada", "last_name": "Placeholder",
                         "title": "MD", "full_name": "Ada Placeholder, MD", "npi": "1234567891"},
            "location": {"address1": "1 Example St", "city": "New York", "state": "NY",
                         "zip_code": "10001", "latitude": 40.75, "longitude": -73.99,
                         "location_name": "Midtown Office"},
            "booking_requirements": {"required_fields": [], "accepts_booking_requests_from": []},
        })
    }

    #[test]
    fn a_provider_location_decodes_with_or_without_a_location() {
        let body = json!({"request_id": "r", "data": provider_location_value()});
        let decoded = decode_provider_location(&bytes(&body)).unwrap();
        assert_eq!(decoded.provider_location_id.as_str(), "pr_a|lo_b");
        assert_eq!(
            decoded.provider_location_type,
            ProviderLocationType::InPersonProvider
        );
        assert_eq!(
            decoded.provider.display_name().as_deref(),
            Some("Ada Placeholder, MD")
        );
        let location = decoded.location.unwrap();
        assert_eq!(location.display_name(), "Midtown Office");
        assert_eq!(location.address_line(), "1 Example St, New York");

        let mut data = provider_location_value();
        data["provider_location_type"] = json!("virtual_provider");
        data["location"] = Value::Null;
        data["virtual_location"] = json!({"state": "NY", "location_name": "Video Visits"});
        data["provider"] = json!({});
        let decoded = decode_provider_location(&bytes(&json!({"data": data}))).unwrap();
        assert_eq!(decoded.location, None);
        assert_eq!(decoded.location_name().as_deref(), Some("Video Visits"));
        assert_eq!(decoded.provider.display_name(), None);
    }

    #[test]
    fn a_provider_location_needs_its_id_provider_and_address() {
        for (field, problem) in [
            ("provider_location_id", "data.provider_location_id"),
            ("provider_location_type", "data.provider_location_type"),
            ("provider", "data.provider"),
        ] {
            let mut data = provider_location_value();
            data.as_object_mut().unwrap().remove(field);
            assert_eq!(
                decode_provider_location(&bytes(&json!({"data": data}))).unwrap_err(),
                DecodeError::Missing {
                    field: problem.to_owned()
                }
            );
        }
        let mut data = provider_location_value();
        data["location"].as_object_mut().unwrap().remove("city");
        assert_eq!(
            decode_provider_location(&bytes(&json!({"data": data}))).unwrap_err(),
            DecodeError::Missing {
                field: "data.location.city".to_owned()
            }
        );
        let mut data = provider_location_value();
        data["provider"]["full_name"] = json!(["Ada"]);
        assert_eq!(
            decode_provider_location(&bytes(&json!({"data": data}))).unwrap_err(),
            DecodeError::WrongType {
                field: "data.provider.full_name".to_owned()
            }
        );
        assert_eq!(
            decode_provider_location(&bytes(&json!({"request_id": "r"}))).unwrap_err(),
            DecodeError::Missing {
                field: "data".to_owned()
            }
        );
    }

    #[test]
    fn a_visit_reason_decodes_and_needs_its_id_and_name() {
        let body = json!({"request_id": "r", "data": {
            "id": "pc_FRO-18leckytNKtruw5dLR", "name": "Annual physical", "specialty_id": "sp_153",
            "brand_new": true
        }});
        let decoded = decode_visit_reason(&bytes(&body)).unwrap();
        assert_eq!(
            decoded.visit_reason_id.as_str(),
            "pc_FRO-18leckytNKtruw5dLR"
        );
        assert_eq!(decoded.name, "Annual physical");
        assert_eq!(
            decode_visit_reason(&bytes(&json!({"data": {"id": "", "name": "x"}}))).unwrap_err(),
            DecodeError::Missing {
                field: "data.id".to_owned()
            }
        );
        assert_eq!(
            decode_visit_reason(&bytes(&json!({"data": {"id": "pc_1", "name": 3}}))).unwrap_err(),
            DecodeError::WrongType {
                field: "data.name".to_owned()
            }
        );
    }

    #[test]
    fn error_bodies_are_read_as_far_as_they_go() {
        let body = json!({
            "request_id": "req-1", "error_type": "brand_new",
            "errors": [{"message": "bad", "field": "start_time"}, {"field": "x"}, 7, {"message": "worse"}]
        });
        let result = decode_error_result(&bytes(&body)).unwrap();
        assert_eq!(result.request_id.unwrap().as_str(), "req-1");
        assert_eq!(
            result.error_type,
            Some(ErrorType::Other("brand_new".to_owned()))
        );
        assert_eq!(result.errors.len(), 2);
        assert_eq!(result.errors[0].field.as_deref(), Some("start_time"));
        assert_eq!(result.errors[1].field, None);
        assert_eq!(decode_error_result(b""), None);
        assert_eq!(decode_error_result(b"\"text\""), None);
        assert_eq!(decode_error_result(b"{}").unwrap().errors, []);
    }

    /// Field names of the spec, so generated bodies reach the decoders' deep paths.
    const FIELDS: &[&str] = &[
        "request_id",
        "data",
        "page",
        "page_size",
        "total_count",
        "next_url",
        "appointment_id",
        "appointment_status",
        "developer_patient_id",
        "is_provider_resource",
        "confirmation_type",
        "start_time",
        "created_time_utc",
        "last_modified_time_utc",
        "provider_location_id",
        "practice_id",
        "visit_reason_id",
        "visit_type",
        "patient_type",
        "notes",
        "cancellation_reason",
        "source",
        "patient",
        "provider_id",
        "location_id",
        "first_name",
        "last_name",
        "date_of_birth",
        "sex_at_birth",
        "phone_number",
        "email_address",
        "patient_address",
        "address1",
        "city",
        "state",
        "zip_code",
        "insurance",
        "gender",
        "uploaded_attachments",
        "attachment_type",
        "attachment_url",
        "side",
        "is_booked_by_another_patient",
        "error_type",
        "errors",
        "message",
        "field",
        "provider_location_type",
        "provider",
        "location",
        "location_name",
        "virtual_location",
        "full_name",
        "title",
        "id",
        "name",
    ];

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("2022-04-27T09:00:00-04:00".to_owned()),
            Just("2024-01-01T09:30:00Z".to_owned()),
            Just("1980-02-03".to_owned()),
            Just("confirmed".to_owned()),
            Just(String::new()),
            any::<String>(),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text().prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 96, 8, |inner| {
            let key = prop_oneof![
                4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
                1 => "[a-z_]{1,10}",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(key, inner, 0..10)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn decode_everything(body: &[u8]) {
        if let Ok(appointment) = decode_appointment(body) {
            assert!(!appointment.appointment_id.as_str().is_empty());
        }
        if let Ok(page) = decode_appointment_page(body) {
            assert!(
                page.appointments
                    .iter()
                    .all(|a| !a.appointment_id.as_str().is_empty())
            );
        }
        let _ = decode_participants(body);
        let _ = decode_status_change(body);
        let _ = decode_rescheduled(body);
        if let Ok(place) = decode_provider_location(body) {
            assert!(!place.provider_location_id.as_str().is_empty());
            let _ = place.provider.display_name();
            let _ = place.location_name();
        }
        if let Ok(reason) = decode_visit_reason(body) {
            assert!(!reason.visit_reason_id.as_str().is_empty());
        }
        let _ = decode_error_result(body).and_then(|result| result.staff_text());
        if let Err(error) = decode_appointment(body) {
            assert!(!error.to_string().is_empty());
        }
    }

    proptest! {
        #[test]
        fn json_bodies_never_panic_the_decoders(value in json_value()) {
            decode_everything(&bytes(&value));
            decode_everything(&bytes(&json!({"request_id": "r", "data": value})));
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoders(body in prop::collection::vec(any::<u8>(), 0..256)) {
            decode_everything(&body);
        }

        #[test]
        fn unknown_fields_never_change_a_decoded_appointment(
            extras in prop::collection::btree_map("x_[a-z]{1,8}", json_value(), 0..6),
        ) {
            let plain = decode_appointment(&bytes(&json!({"data": appointment_value()}))).unwrap();
            let mut data = appointment_value();
            let mut body = json!({"request_id": "r"});
            for (key, value) in extras {
                data[key.as_str()] = value.clone();
                body[key.as_str()] = value;
            }
            body["data"] = data;
            prop_assert_eq!(decode_appointment(&bytes(&body)).unwrap(), plain);
        }
    }
}
