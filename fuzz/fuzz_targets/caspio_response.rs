//! Fuzz target: decoding any Caspio answer never panics, whatever the bytes, and what decodes
//! holds together: names are valid Caspio names, a field type reads back as itself, and the
//! staff message of an error built from a decoded error body is bounded and free of control
//! characters.
#![no_main]

use deskbridge_caspio::{
    ColumnName, Error, FieldType, Operation, TableName, decode_error_body, decode_fields,
    decode_records, decode_tables, decode_token, decode_written,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(tables) = decode_tables(body) {
        for table in tables {
            assert!(TableName::new(table.as_str()).is_ok());
        }
    }
    if let Ok(fields) = decode_fields(body) {
        for field in fields {
            assert!(ColumnName::new(field.name.as_str()).is_ok());
            assert_eq!(FieldType::from_wire(field.field_type.as_str()), field.field_type);
            let _ = field.read_only();
        }
    }
    let _ = decode_records(body);
    if let Ok(written) = decode_written(body) {
        let _ = written.records_affected;
    }
    if let Err(error) = decode_token(body) {
        assert!(!error.to_string().is_empty());
    }
    if let Some(error_body) = decode_error_body(body) {
        if let Some(text) = error_body.staff_text() {
            assert!(!text.chars().any(char::is_control));
            assert!(text.chars().count() <= 301);
        }
        let error = Error::BadRequest {
            operation: Operation::InsertRecord,
            table: TableName::new("Appointments").ok(),
            body: Some(error_body),
        };
        assert!(!error.staff_message().is_empty());
        let _ = error.to_string();
    }
});
