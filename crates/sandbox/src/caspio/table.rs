//! The emulated tables: their fields (as configured), their rows, and the rules a write must
//! pass — known, writable columns only; values of the column's type (TEXT at most 255
//! characters, STRING 64,000, DATE/TIME a local date-time without offset, YES/NO a boolean,
//! NUMBER a number, INTEGER a whole number); no duplicate in a Unique column. Generated columns
//! (autonumbers, GUIDs, random ids, timestamps) are filled in by the table itself.

use jiff::civil::{Date, DateTime};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::filter::{self, Expr};

/// Longest value of a TEXT column, in characters.
pub const TEXT_MAX: usize = 255;
/// Longest value of a STRING column, in characters.
pub const STRING_MAX: usize = 64_000;

/// A column's type, as `GET …/fields` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColumnType {
    /// `TEXT` (255).
    #[serde(rename = "TEXT")]
    Text,
    /// `STRING` (64,000).
    #[serde(rename = "STRING")]
    String,
    /// `NUMBER`.
    #[serde(rename = "NUMBER")]
    Number,
    /// `INTEGER`.
    #[serde(rename = "INTEGER")]
    Integer,
    /// `CURRENCY`.
    #[serde(rename = "CURRENCY")]
    Currency,
    /// `DATE/TIME`.
    #[serde(rename = "DATE/TIME")]
    DateTime,
    /// `YES/NO`.
    #[serde(rename = "YES/NO")]
    YesNo,
    /// `AUTONUMBER` (generated).
    #[serde(rename = "AUTONUMBER")]
    AutoNumber,
    /// `PREFIXED AUTONUMBER` (generated).
    #[serde(rename = "PREFIXED AUTONUMBER")]
    PrefixedAutoNumber,
    /// `RANDOM ID` (generated).
    #[serde(rename = "RANDOM ID")]
    RandomId,
    /// `GUID` (generated).
    #[serde(rename = "GUID")]
    Guid,
    /// `TIMESTAMP` (generated: set on every write).
    #[serde(rename = "TIMESTAMP")]
    Timestamp,
}

impl ColumnType {
    /// The type as Caspio names it.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Text => "TEXT",
            ColumnType::String => "STRING",
            ColumnType::Number => "NUMBER",
            ColumnType::Integer => "INTEGER",
            ColumnType::Currency => "CURRENCY",
            ColumnType::DateTime => "DATE/TIME",
            ColumnType::YesNo => "YES/NO",
            ColumnType::AutoNumber => "AUTONUMBER",
            ColumnType::PrefixedAutoNumber => "PREFIXED AUTONUMBER",
            ColumnType::RandomId => "RANDOM ID",
            ColumnType::Guid => "GUID",
            ColumnType::Timestamp => "TIMESTAMP",
        }
    }

    /// Whether the table fills the column in itself.
    pub fn is_generated(self) -> bool {
        matches!(
            self,
            ColumnType::AutoNumber
                | ColumnType::PrefixedAutoNumber
                | ColumnType::RandomId
                | ColumnType::Guid
                | ColumnType::Timestamp
        )
    }
}

/// One field of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// `Name`.
    pub name: String,
    /// `Type`.
    pub column_type: ColumnType,
    /// `Unique`.
    #[serde(default)]
    pub unique: bool,
    /// `IsFormula`: the value is computed (here: always `NULL`), never written.
    #[serde(default)]
    pub formula: bool,
    /// `Description`.
    #[serde(default)]
    pub description: String,
}

impl FieldDef {
    /// A plain field of `column_type`.
    pub fn new(name: &str, column_type: ColumnType) -> FieldDef {
        FieldDef {
            name: name.to_owned(),
            column_type,
            unique: false,
            formula: false,
            description: String::new(),
        }
    }

    /// The same field, marked Unique.
    pub fn unique(mut self) -> FieldDef {
        self.unique = true;
        self
    }

    /// The same field, as a formula.
    pub fn formula(mut self) -> FieldDef {
        self.formula = true;
        self
    }

    /// Whether a write may set it.
    pub fn writable(&self) -> bool {
        !self.formula && !self.column_type.is_generated()
    }
}

/// A table as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDef {
    /// The table's name.
    pub name: String,
    /// Its fields, in order.
    pub fields: Vec<FieldDef>,
    /// Whether the web services profile may write to it (no: writes answer 403).
    #[serde(default = "yes")]
    pub writable: bool,
}

fn yes() -> bool {
    true
}

impl TableDef {
    /// The demo's `Appointments` table: one column per field of Deskbridge's default mapping
    /// (`ZocdocAppointmentId` Unique), plus generated ones (`PK_ID` autonumber, `RecordGuid`,
    /// `Updated` timestamp) and a formula (`DaysToStart`) that no push may write.
    pub fn appointments() -> TableDef {
        use ColumnType::{AutoNumber, DateTime, Guid, Number, Text, Timestamp, YesNo};
        TableDef {
            name: "Appointments".to_owned(),
            fields: vec![
                FieldDef::new("PK_ID", AutoNumber).unique(),
                FieldDef::new("ZocdocAppointmentId", Text).unique(),
                FieldDef::new("Status", Text),
                FieldDef::new("StartLocal", DateTime),
                FieldDef::new("ProviderId", Text),
                FieldDef::new("LocationId", Text),
                FieldDef::new("VisitReasonId", Text),
                FieldDef::new("PatientType", Text),
                FieldDef::new("CreatedLocal", DateTime),
                FieldDef::new("LastModifiedLocal", DateTime),
                FieldDef::new("CancellationReason", Text),
                FieldDef::new("Arrived", YesNo),
                FieldDef::new("PatientFirstName", Text),
                FieldDef::new("PatientLastName", Text),
                FieldDef::new("PatientPhone", Text),
                FieldDef::new("PatientEmail", Text),
                FieldDef::new("PatientDateOfBirth", DateTime),
                FieldDef::new("RecordGuid", Guid),
                FieldDef::new("Updated", Timestamp),
                FieldDef::new("DaysToStart", Number).formula(),
            ],
            writable: true,
        }
    }

    fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }
}

/// Why a request on a table was refused (400 unless said otherwise).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The where-clause does not parse or names an unknown column.
    #[error("{0}")]
    Where(#[from] filter::WhereError),
    /// The body names a column the table does not have.
    #[error("the field '{0}' does not exist in this table")]
    UnknownColumn(String),
    /// The body writes a generated or formula column.
    #[error("the field '{0}' cannot be written: it is generated or a formula")]
    ReadOnlyColumn(String),
    /// A value does not fit its column.
    #[error("the value of field '{column}' is not a valid {expected}")]
    WrongType {
        /// The column.
        column: String,
        /// The column's type, in words.
        expected: &'static str,
    },
    /// A value is longer than its column holds.
    #[error("the value of field '{column}' is longer than {max} characters")]
    TooLong {
        /// The column.
        column: String,
        /// The column's limit.
        max: usize,
    },
    /// A write would put a duplicate into a Unique column.
    #[error("cannot insert a duplicate value into the unique field '{0}'")]
    Duplicate(String),
    /// The body is not a JSON object (or is empty).
    #[error("the request body must be a JSON object of field names and values")]
    BadBody,
}

impl TableError {
    /// Caspio's `Code` for the error.
    pub fn code(&self) -> &'static str {
        match self {
            TableError::Where(_) => "SqlServerError",
            TableError::UnknownColumn(_) | TableError::ReadOnlyColumn(_) => {
                "IncorrectBodyParameter"
            }
            TableError::WrongType { .. } | TableError::TooLong { .. } => "IncorrectBodyParameter",
            TableError::Duplicate(_) => "UniqueConstraintViolation",
            TableError::BadBody => "IncorrectBodyParameter",
        }
    }
}

/// A table with its rows.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) def: TableDef,
    pub(crate) rows: Vec<Map<String, Value>>,
    next_number: u64,
}

impl Table {
    pub(crate) fn new(def: TableDef) -> Table {
        Table {
            def,
            rows: Vec::new(),
            next_number: 1,
        }
    }

    /// Parses `clause` and checks that every column it names exists.
    pub(crate) fn filter(&self, clause: &str) -> Result<Expr, TableError> {
        let expr = filter::parse(clause)?;
        for column in expr.columns() {
            if self.def.field(column).is_none() {
                return Err(filter::WhereError::UnknownColumn(column.to_owned()).into());
            }
        }
        Ok(expr)
    }

    /// Indices of the rows matching `expr` (every row for `None`).
    pub(crate) fn matching(&self, expr: Option<&Expr>) -> Vec<usize> {
        (0..self.rows.len())
            .filter(|&index| {
                expr.is_none_or(|expr| {
                    let row = &self.rows[index];
                    expr.matches(&|name: &str| lookup(row, name))
                })
            })
            .collect()
    }

    /// Checks a write's body against the fields; returns it with canonical names and values.
    fn checked(&self, body: &Value) -> Result<Map<String, Value>, TableError> {
        let Value::Object(body) = body else {
            return Err(TableError::BadBody);
        };
        if body.is_empty() {
            return Err(TableError::BadBody);
        }
        let mut out = Map::new();
        for (name, value) in body {
            let field = self
                .def
                .field(name)
                .ok_or_else(|| TableError::UnknownColumn(name.clone()))?;
            if !field.writable() {
                return Err(TableError::ReadOnlyColumn(field.name.clone()));
            }
            out.insert(field.name.clone(), checked_value(field, value)?);
        }
        Ok(out)
    }

    fn fill_generated(
        &mut self,
        row: &mut Map<String, Value>,
        now: &str,
        rng: &mut ChaCha8Rng,
        insert: bool,
    ) {
        for field in &self.def.fields {
            let value = match field.column_type {
                ColumnType::AutoNumber if insert => Value::from(self.next_number),
                ColumnType::PrefixedAutoNumber if insert => {
                    Value::from(format!("A{:06}", self.next_number))
                }
                ColumnType::Guid if insert => Value::from(guid(rng)),
                ColumnType::RandomId if insert => {
                    Value::from(format!("{:08X}", rng.random::<u32>()))
                }
                ColumnType::Timestamp => Value::from(now),
                _ if insert && field.formula => Value::Null,
                _ if insert => row.get(&field.name).cloned().unwrap_or(Value::Null),
                _ => continue,
            };
            row.insert(field.name.clone(), value);
        }
        if insert {
            self.next_number += 1;
        }
    }

    /// Whether another row than those in `except` holds `value` in the Unique column `column`.
    fn taken(&self, column: &str, value: &Value, except: &[usize]) -> bool {
        if value.is_null() {
            return false;
        }
        let literal = match value {
            Value::String(text) => filter::Literal::Text(text.clone()),
            Value::Number(number) => filter::Literal::Number(number.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(flag) => filter::Literal::Number(f64::from(u8::from(*flag))),
            _ => return false,
        };
        self.rows.iter().enumerate().any(|(index, row)| {
            !except.contains(&index)
                && filter::compare(lookup(row, column), &literal) == Some(std::cmp::Ordering::Equal)
        })
    }

    /// Inserts one row; returns it as stored.
    pub(crate) fn insert(
        &mut self,
        body: &Value,
        now: &str,
        rng: &mut ChaCha8Rng,
    ) -> Result<Map<String, Value>, TableError> {
        let mut row = self.checked(body)?;
        for field in self
            .def
            .fields
            .iter()
            .filter(|field| field.unique && field.writable())
        {
            if let Some(value) = row.get(&field.name)
                && self.taken(&field.name, value, &[])
            {
                return Err(TableError::Duplicate(field.name.clone()));
            }
        }
        self.fill_generated(&mut row, now, rng, true);
        self.rows.push(row.clone());
        Ok(row)
    }

    /// Sets `body`'s columns on every row matching `expr`; returns the rows as stored. All or
    /// nothing: a duplicate leaves every row as it was.
    pub(crate) fn update(
        &mut self,
        expr: &Expr,
        body: &Value,
        now: &str,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Map<String, Value>>, TableError> {
        let changes = self.checked(body)?;
        let matched = self.matching(Some(expr));
        for field in self.def.fields.iter().filter(|field| field.unique) {
            if let Some(value) = changes.get(&field.name)
                && !value.is_null()
                && (matched.len() > 1 || self.taken(&field.name, value, &matched))
            {
                return Err(TableError::Duplicate(field.name.clone()));
            }
        }
        let mut updated = Vec::with_capacity(matched.len());
        for index in matched {
            let mut row = self.rows[index].clone();
            row.extend(changes.clone());
            self.fill_generated(&mut row, now, rng, false);
            self.rows[index] = row.clone();
            updated.push(row);
        }
        Ok(updated)
    }

    /// Deletes every row matching `expr`; returns how many.
    pub(crate) fn delete(&mut self, expr: &Expr) -> usize {
        let matched = self.matching(Some(expr));
        let before = self.rows.len();
        let mut index = 0;
        self.rows.retain(|_| {
            let keep = !matched.contains(&index);
            index += 1;
            keep
        });
        before - self.rows.len()
    }
}

/// A column's value in a row, by name in any case.
pub(crate) fn lookup<'a>(row: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    row.get(name).or_else(|| {
        row.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

fn checked_value(field: &FieldDef, value: &Value) -> Result<Value, TableError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let wrong = |expected| TableError::WrongType {
        column: field.name.clone(),
        expected,
    };
    let text_of = |max: usize| -> Result<Value, TableError> {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => return Err(wrong("text")),
        };
        if text.chars().count() > max {
            return Err(TableError::TooLong {
                column: field.name.clone(),
                max,
            });
        }
        Ok(Value::String(text))
    };
    match field.column_type {
        ColumnType::Text => text_of(TEXT_MAX),
        ColumnType::String => text_of(STRING_MAX),
        ColumnType::Number | ColumnType::Currency => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| wrong("number")),
            _ => Err(wrong("number")),
        },
        ColumnType::Integer => match value {
            Value::Number(number) if number.is_i64() || number.is_u64() => Ok(value.clone()),
            Value::String(text) => text
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| wrong("whole number")),
            _ => Err(wrong("whole number")),
        },
        ColumnType::YesNo => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(wrong("yes/no value (true or false)")),
        },
        ColumnType::DateTime => {
            let text = value.as_str().ok_or_else(|| wrong("date/time"))?;
            let parsed = text
                .parse::<DateTime>()
                .ok()
                .or_else(|| text.parse::<Date>().ok().map(|date| date.at(0, 0, 0, 0)))
                .filter(|_| !has_offset(text))
                .ok_or_else(|| wrong("local date/time without offset (YYYY-MM-DDTHH:MM:SS)"))?;
            Ok(Value::from(format_local(parsed)))
        }
        ColumnType::AutoNumber
        | ColumnType::PrefixedAutoNumber
        | ColumnType::RandomId
        | ColumnType::Guid
        | ColumnType::Timestamp => Err(TableError::ReadOnlyColumn(field.name.clone())),
    }
}

/// Whether an ISO 8601 text carries an offset or `Z` (Caspio stores none).
fn has_offset(text: &str) -> bool {
    let Some((_, time)) = text.split_once('T') else {
        return false;
    };
    time.contains(['Z', 'z', '+', '-', '['])
}

/// A local date-time as Caspio returns it: `YYYY-MM-DDTHH:MM:SS`.
pub(crate) fn format_local(value: DateTime) -> String {
    value.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

fn guid(rng: &mut ChaCha8Rng) -> String {
    let bytes: [u8; 16] = rng.random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use serde_json::json;

    use super::*;

    fn table() -> (Table, ChaCha8Rng) {
        (
            Table::new(TableDef::appointments()),
            ChaCha8Rng::seed_from_u64(1),
        )
    }

    const NOW: &str = "2026-01-01T09:00:00";

    #[test]
    fn inserts_fill_generated_columns_and_enforce_unique() {
        let (mut table, mut rng) = table();
        let row = table
            .insert(
                &json!({"ZocdocAppointmentId": "a1", "Arrived": false}),
                NOW,
                &mut rng,
            )
            .unwrap();
        assert_eq!(row["PK_ID"], 1);
        assert_eq!(row["Updated"], NOW);
        assert_eq!(row["RecordGuid"].as_str().unwrap().len(), 36);
        assert_eq!(row["DaysToStart"], Value::Null);
        assert_eq!(
            table.insert(&json!({"zocdocappointmentid": "A1"}), NOW, &mut rng),
            Err(TableError::Duplicate("ZocdocAppointmentId".to_owned()))
        );
        assert_eq!(table.rows.len(), 1);
    }

    #[test]
    fn writes_are_type_checked() {
        let (mut table, mut rng) = table();
        let cases = [
            (
                json!({"Nope": "x"}),
                TableError::UnknownColumn("Nope".to_owned()),
            ),
            (
                json!({"PK_ID": 5}),
                TableError::ReadOnlyColumn("PK_ID".to_owned()),
            ),
            (
                json!({"DaysToStart": 5}),
                TableError::ReadOnlyColumn("DaysToStart".to_owned()),
            ),
            (
                json!({"Updated": NOW}),
                TableError::ReadOnlyColumn("Updated".to_owned()),
            ),
            (
                json!({"Status": "x".repeat(256)}),
                TableError::TooLong {
                    column: "Status".to_owned(),
                    max: TEXT_MAX,
                },
            ),
            (
                json!({"Arrived": "yes"}),
                TableError::WrongType {
                    column: "Arrived".to_owned(),
                    expected: "yes/no value (true or false)",
                },
            ),
            (json!([1]), TableError::BadBody),
            (json!({}), TableError::BadBody),
        ];
        for (body, error) in cases {
            assert_eq!(table.insert(&body, NOW, &mut rng), Err(error), "{body}");
        }
        for bad in [
            "2026-01-01T09:00:00Z",
            "2026-01-01T09:00:00-05:00",
            "tomorrow",
        ] {
            assert!(
                table
                    .insert(&json!({"StartLocal": bad}), NOW, &mut rng)
                    .is_err(),
                "{bad}"
            );
        }
        let row = table
            .insert(
                &json!({"StartLocal": "2026-01-01T09:00", "PatientDateOfBirth": "1980-02-03"}),
                NOW,
                &mut rng,
            )
            .unwrap();
        assert_eq!(row["StartLocal"], "2026-01-01T09:00:00");
        assert_eq!(row["PatientDateOfBirth"], "1980-02-03T00:00:00");
    }

    #[test]
    fn updates_apply_to_matches_and_keep_unique() {
        let (mut table, mut rng) = table();
        table
            .insert(&json!({"ZocdocAppointmentId": "a"}), NOW, &mut rng)
            .unwrap();
        table
            .insert(&json!({"ZocdocAppointmentId": "b"}), NOW, &mut rng)
            .unwrap();
        let by_a = table.filter("ZocdocAppointmentId='a'").unwrap();
        let updated = table
            .update(
                &by_a,
                &json!({"Status": "cancelled"}),
                "2026-01-02T00:00:00",
                &mut rng,
            )
            .unwrap();
        assert_eq!(updated.len(), 1);
        assert_eq!(updated[0]["Updated"], "2026-01-02T00:00:00");
        assert_eq!(
            table.update(&by_a, &json!({"ZocdocAppointmentId": "b"}), NOW, &mut rng),
            Err(TableError::Duplicate("ZocdocAppointmentId".to_owned()))
        );
        let all = table.filter("PK_ID > 0").unwrap();
        assert!(
            table
                .update(&all, &json!({"ZocdocAppointmentId": "c"}), NOW, &mut rng)
                .is_err()
        );
        assert!(matches!(
            table.filter("Nope = 1"),
            Err(TableError::Where(_))
        ));
        assert_eq!(table.delete(&by_a), 1);
        assert_eq!(table.rows.len(), 1);
    }
}
