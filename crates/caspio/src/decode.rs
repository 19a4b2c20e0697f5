//! Decoding Caspio's JSON answers: tables, fields, records, write results and error bodies.
//!
//! Written over `serde_json::Value` by hand, so that a decode error names the field but never
//! quotes a value (a record holds patient data), and leniency is explicit: unknown properties
//! are ignored, `null` counts as absent, a field whose `Name` is not a valid column name is
//! refused. The `decode_*` functions take the raw body and never panic, whatever the bytes.

use serde_json::{Map, Value};

use crate::error::ErrorBody;
use crate::model::{Field, FieldType, Record, Written};
use crate::names::{ColumnName, TableName};

/// Why an answer could not be decoded. Names a field (a JSON path), never a value.
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
    /// A required field is absent or `null`.
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
    /// A field's value is not in the documented form (e.g. a name Caspio does not allow).
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

pub(crate) fn parse_json(body: &[u8]) -> Result<Value, DecodeError> {
    serde_json::from_slice(body).map_err(|error| DecodeError::NotJson {
        line: error.line(),
        column: error.column(),
    })
}

fn root(value: &Value) -> Result<&Map<String, Value>, DecodeError> {
    value.as_object().ok_or_else(|| DecodeError::WrongType {
        field: "(body)".to_owned(),
    })
}

fn result_array(root: &Map<String, Value>) -> Result<&Vec<Value>, DecodeError> {
    match root.get("Result") {
        Some(Value::Array(items)) => Ok(items),
        None | Some(Value::Null) => Err(DecodeError::Missing {
            field: "Result".to_owned(),
        }),
        Some(_) => Err(DecodeError::WrongType {
            field: "Result".to_owned(),
        }),
    }
}

/// Decodes `GET /tables`: `{"Result": ["Table1", …]}`.
pub fn decode_tables(body: &[u8]) -> Result<Vec<TableName>, DecodeError> {
    let value = parse_json(body)?;
    result_array(root(&value)?)?
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let field = || format!("Result[{index}]");
            let name = item
                .as_str()
                .ok_or_else(|| DecodeError::WrongType { field: field() })?;
            TableName::new(name).map_err(|_| DecodeError::BadFormat { field: field() })
        })
        .collect()
}

/// Decodes `GET /tables/{table}/fields`.
pub fn decode_fields(body: &[u8]) -> Result<Vec<Field>, DecodeError> {
    let value = parse_json(body)?;
    result_array(root(&value)?)?
        .iter()
        .enumerate()
        .map(|(index, item)| field(index, item))
        .collect()
}

fn field(index: usize, item: &Value) -> Result<Field, DecodeError> {
    let path = |name: &str| format!("Result[{index}].{name}");
    let object = item.as_object().ok_or_else(|| DecodeError::WrongType {
        field: format!("Result[{index}]"),
    })?;
    let text = |name: &str| -> Result<Option<&str>, DecodeError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(DecodeError::WrongType { field: path(name) }),
        }
    };
    let flag = |name: &str| -> Result<bool, DecodeError> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(DecodeError::WrongType { field: path(name) }),
        }
    };
    let name = text("Name")?.ok_or_else(|| DecodeError::Missing {
        field: path("Name"),
    })?;
    let name = ColumnName::new(name).map_err(|_| DecodeError::BadFormat {
        field: path("Name"),
    })?;
    let field_type = text("Type")?.ok_or_else(|| DecodeError::Missing {
        field: path("Type"),
    })?;
    Ok(Field {
        name,
        field_type: FieldType::from_wire(field_type),
        unique: flag("Unique")?,
        is_formula: flag("IsFormula")?,
        description: text("Description")?.map(str::to_owned),
    })
}

/// Decodes `GET /tables/{table}/records`: `{"Result": [{…}, …]}`.
pub fn decode_records(body: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let value = parse_json(body)?;
    records(result_array(root(&value)?)?)
}

fn records(items: &[Value]) -> Result<Vec<Record>, DecodeError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(record) => Ok(record.clone()),
            _ => Err(DecodeError::WrongType {
                field: format!("Result[{index}]"),
            }),
        })
        .collect()
}

/// Decodes the answer of a write with `response=rows`: `{"RecordsAffected": n, "Result": […]}`.
/// An empty body (a write without `response=rows`) reads as nothing written back.
pub fn decode_written(body: &[u8]) -> Result<Written, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Written {
            records_affected: 0,
            rows: Vec::new(),
        });
    }
    let value = parse_json(body)?;
    let root = root(&value)?;
    let rows = match root.get("Result") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => records(items)?,
        Some(_) => {
            return Err(DecodeError::WrongType {
                field: "Result".to_owned(),
            });
        }
    };
    let records_affected = match root.get("RecordsAffected") {
        None | Some(Value::Null) => rows.len() as u64,
        Some(Value::Number(number)) => number.as_u64().ok_or_else(|| DecodeError::WrongType {
            field: "RecordsAffected".to_owned(),
        })?,
        Some(_) => {
            return Err(DecodeError::WrongType {
                field: "RecordsAffected".to_owned(),
            });
        }
    };
    Ok(Written {
        records_affected,
        rows,
    })
}

/// Decodes Caspio's error body (`Code`, `Message`, `Resource`, `RequestId`), as far as it goes;
/// `None` when the body is not a JSON object with at least one of them as text.
pub fn decode_error_body(body: &[u8]) -> Option<ErrorBody> {
    let value = parse_json(body).ok()?;
    let root = value.as_object()?;
    let text = |name: &str| root.get(name).and_then(Value::as_str).map(str::to_owned);
    let body = ErrorBody {
        code: text("Code"),
        message: text("Message"),
        resource: text("Resource"),
        request_id: text("RequestId"),
    };
    (body.code.is_some()
        || body.message.is_some()
        || body.resource.is_some()
        || body.request_id.is_some())
    .then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_fields_decode() {
        assert_eq!(
            decode_tables(br#"{"Result":["Appointments","Staff"]}"#).unwrap(),
            vec![
                TableName::new("Appointments").unwrap(),
                TableName::new("Staff").unwrap()
            ]
        );
        assert_eq!(
            decode_tables(br#"{"Result":["a b"]}"#),
            Err(DecodeError::BadFormat {
                field: "Result[0]".to_owned()
            })
        );
        let fields = decode_fields(
            br#"{"Result":[
                {"Name":"PK_ID","Type":"AUTONUMBER","Unique":true,"Description":"","IsFormula":false,"ListField":null},
                {"Name":"Key","Type":"TEXT","Unique":true},
                {"Name":"Age","Type":"NUMBER","IsFormula":true,"Extra":{"x":1}}
            ]}"#,
        )
        .unwrap();
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[0].field_type, FieldType::AutoNumber);
        assert!(fields[1].unique && !fields[1].is_formula);
        assert!(fields[2].is_formula);
        assert_eq!(
            decode_fields(br#"{"Result":[{"Type":"TEXT"}]}"#),
            Err(DecodeError::Missing {
                field: "Result[0].Name".to_owned()
            })
        );
        assert_eq!(
            decode_fields(br#"{"Result":[{"Name":"A","Type":"TEXT","Unique":"yes"}]}"#),
            Err(DecodeError::WrongType {
                field: "Result[0].Unique".to_owned()
            })
        );
    }

    #[test]
    fn records_and_writes_decode_without_quoting_values() {
        let rows = decode_records(br#"{"Result":[{"Name":"O'Brien","N":1}]}"#).unwrap();
        assert_eq!(rows[0]["Name"], "O'Brien");
        let error = decode_records(br#"{"Result":["secret-name"]}"#).unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
        let written = decode_written(br#"{"RecordsAffected":1,"Result":[{"PK_ID":7}]}"#).unwrap();
        assert_eq!(written.records_affected, 1);
        assert_eq!(written.rows[0]["PK_ID"], 7);
        assert_eq!(decode_written(b"").unwrap().records_affected, 0);
        assert_eq!(
            decode_written(br#"{"RecordsAffected":2}"#)
                .unwrap()
                .records_affected,
            2
        );
        assert!(decode_written(br#"{"RecordsAffected":-1}"#).is_err());
    }

    #[test]
    fn error_bodies_decode_as_far_as_they_go() {
        let body = decode_error_body(
            br#"{"Code":"TableNotFound","Message":"Cannot find table","Resource":"/tables/X","RequestId":"r-1"}"#,
        )
        .unwrap();
        assert_eq!(body.code.as_deref(), Some("TableNotFound"));
        assert_eq!(body.request_id.as_deref(), Some("r-1"));
        assert_eq!(decode_error_body(b"{}"), None);
        assert_eq!(decode_error_body(b"<html>"), None);
        assert_eq!(decode_error_body(b"[1]"), None);
    }
}
