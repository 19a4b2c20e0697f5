//! What the API returns: tables, a table's fields with their types (and which of them can be
//! written), and records as JSON objects of column → value.

use std::fmt;

use serde_json::{Map, Value};

use crate::names::ColumnName;

/// One record: column name → value, as Caspio sends and takes it.
pub type Record = Map<String, Value>;

/// A field's type, as `GET /tables/{table}/fields` names it in `Type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `TEXT`: up to 255 characters.
    Text,
    /// `STRING`: up to 64,000 characters.
    String,
    /// `NUMBER`.
    Number,
    /// `INTEGER`.
    Integer,
    /// `CURRENCY`.
    Currency,
    /// `DATE/TIME`: a local date-time without offset.
    DateTime,
    /// `YES/NO`.
    YesNo,
    /// `FILE`.
    File,
    /// `LIST-STRING`, `LIST-NUMBER` or `LIST-DATE` (values by list id).
    List(String),
    /// `AUTONUMBER` (generated).
    AutoNumber,
    /// `PREFIXED AUTONUMBER` (generated).
    PrefixedAutoNumber,
    /// `RANDOM ID` (generated).
    RandomId,
    /// `GUID` (generated).
    Guid,
    /// `TIMESTAMP` (generated).
    Timestamp,
    /// `PASSWORD` (never written through the API).
    Password,
    /// A type this version does not know, as Caspio sent it.
    Other(String),
}

impl FieldType {
    /// Reads `Type` (case-insensitive).
    pub fn from_wire(text: &str) -> Self {
        let upper = text.trim().to_ascii_uppercase();
        match upper.as_str() {
            "TEXT" => FieldType::Text,
            "STRING" => FieldType::String,
            "NUMBER" => FieldType::Number,
            "INTEGER" => FieldType::Integer,
            "CURRENCY" => FieldType::Currency,
            "DATE/TIME" => FieldType::DateTime,
            "YES/NO" => FieldType::YesNo,
            "FILE" => FieldType::File,
            "AUTONUMBER" => FieldType::AutoNumber,
            "PREFIXED AUTONUMBER" => FieldType::PrefixedAutoNumber,
            "RANDOM ID" => FieldType::RandomId,
            "GUID" => FieldType::Guid,
            "TIMESTAMP" => FieldType::Timestamp,
            "PASSWORD" => FieldType::Password,
            list if list.starts_with("LIST-") => FieldType::List(list.to_owned()),
            _ => FieldType::Other(text.to_owned()),
        }
    }

    /// The type as Caspio writes it.
    pub fn as_str(&self) -> &str {
        match self {
            FieldType::Text => "TEXT",
            FieldType::String => "STRING",
            FieldType::Number => "NUMBER",
            FieldType::Integer => "INTEGER",
            FieldType::Currency => "CURRENCY",
            FieldType::DateTime => "DATE/TIME",
            FieldType::YesNo => "YES/NO",
            FieldType::File => "FILE",
            FieldType::AutoNumber => "AUTONUMBER",
            FieldType::PrefixedAutoNumber => "PREFIXED AUTONUMBER",
            FieldType::RandomId => "RANDOM ID",
            FieldType::Guid => "GUID",
            FieldType::Timestamp => "TIMESTAMP",
            FieldType::Password => "PASSWORD",
            FieldType::List(text) | FieldType::Other(text) => text,
        }
    }

    /// Whether Caspio makes the value itself (so it must never be written).
    pub fn is_generated(&self) -> bool {
        matches!(
            self,
            FieldType::AutoNumber
                | FieldType::PrefixedAutoNumber
                | FieldType::RandomId
                | FieldType::Guid
                | FieldType::Timestamp
        )
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field (column) of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// `Name`.
    pub name: ColumnName,
    /// `Type`.
    pub field_type: FieldType,
    /// `Unique`: a duplicate value is refused.
    pub unique: bool,
    /// `IsFormula`: computed by Caspio.
    pub is_formula: bool,
    /// `Description`.
    pub description: Option<String>,
}

/// Why a field cannot be written through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnlyReason {
    /// A generated type (autonumber, GUID, timestamp, …).
    Generated,
    /// A formula field.
    Formula,
    /// A password field.
    Password,
    /// A system column (`_…`, `PK` or `PK_…`).
    System,
    /// A type this client does not know how to write.
    UnknownType,
}

impl fmt::Display for ReadOnlyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadOnlyReason::Generated => "Caspio fills it in itself",
            ReadOnlyReason::Formula => "it is a formula field",
            ReadOnlyReason::Password => "it is a password field",
            ReadOnlyReason::System => "it is a system column",
            ReadOnlyReason::UnknownType => "its type is not one Deskbridge writes",
        })
    }
}

impl Field {
    /// Why the field cannot be written, or `None` when it can.
    pub fn read_only(&self) -> Option<ReadOnlyReason> {
        let name = self.name.as_str();
        if self.is_formula {
            Some(ReadOnlyReason::Formula)
        } else if self.field_type.is_generated() {
            Some(ReadOnlyReason::Generated)
        } else if self.field_type == FieldType::Password {
            Some(ReadOnlyReason::Password)
        } else if name.starts_with('_')
            || name.eq_ignore_ascii_case("PK")
            || name.to_ascii_uppercase().starts_with("PK_")
        {
            Some(ReadOnlyReason::System)
        } else if matches!(self.field_type, FieldType::Other(_)) {
            Some(ReadOnlyReason::UnknownType)
        } else {
            None
        }
    }
}

/// The answer to a write with `response=rows`.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// `RecordsAffected`.
    pub records_affected: u64,
    /// `Result`: the rows as written (generated columns included).
    pub rows: Vec<Record>,
}

/// A `GET …/records` query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordQuery {
    /// `q.select`: the columns to return (all when empty).
    pub select: Vec<ColumnName>,
    /// `q.where`.
    pub filter: Option<crate::where_clause::Where>,
    /// `q.pageNumber` (from 1) with `q.pageSize` (5..=1000).
    pub page: Option<(u32, u32)>,
}

/// The most rows one page (or `q.limit`) returns.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The fewest rows a page may hold.
pub const MIN_PAGE_SIZE: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, field_type: &str, is_formula: bool) -> Field {
        Field {
            name: ColumnName::new(name).unwrap(),
            field_type: FieldType::from_wire(field_type),
            unique: false,
            is_formula,
            description: None,
        }
    }

    #[test]
    fn types_read_back_as_sent() {
        for wire in [
            "TEXT",
            "STRING",
            "NUMBER",
            "INTEGER",
            "CURRENCY",
            "DATE/TIME",
            "YES/NO",
            "FILE",
            "LIST-STRING",
            "AUTONUMBER",
            "PREFIXED AUTONUMBER",
            "RANDOM ID",
            "GUID",
            "TIMESTAMP",
            "PASSWORD",
            "HOLOGRAM",
        ] {
            assert_eq!(FieldType::from_wire(wire).as_str(), wire);
        }
        assert_eq!(FieldType::from_wire("date/time"), FieldType::DateTime);
    }

    #[test]
    fn generated_formula_and_system_columns_are_read_only() {
        assert_eq!(field("Status", "TEXT", false).read_only(), None);
        assert_eq!(
            field("Id", "AUTONUMBER", false).read_only(),
            Some(ReadOnlyReason::Generated)
        );
        assert_eq!(
            field("Changed", "TIMESTAMP", false).read_only(),
            Some(ReadOnlyReason::Generated)
        );
        assert_eq!(
            field("Age", "NUMBER", true).read_only(),
            Some(ReadOnlyReason::Formula)
        );
        assert_eq!(
            field("PK_ID", "INTEGER", false).read_only(),
            Some(ReadOnlyReason::System)
        );
        assert_eq!(
            field("_x", "TEXT", false).read_only(),
            Some(ReadOnlyReason::System)
        );
        assert_eq!(
            field("Pw", "PASSWORD", false).read_only(),
            Some(ReadOnlyReason::Password)
        );
        assert_eq!(
            field("H", "HOLOGRAM", false).read_only(),
            Some(ReadOnlyReason::UnknownType)
        );
    }
}
