//! The only way to make a `q.where` clause: from checked column names and typed values, never by
//! pasting text. A text value is always written as a single-quoted literal with every `'` inside
//! doubled (`O'Brien` → `'O''Brien'`), so no value can end its literal early and add SQL of its
//! own.
//!
//! ```
//! use deskbridge_caspio::{ColumnName, Where};
//!
//! let id = ColumnName::new("ZocdocAppointmentId").unwrap();
//! let status = ColumnName::new("Status").unwrap();
//! let clause = Where::eq(&id, "O'Brien").and(Where::ne(&status, "cancelled"));
//! assert_eq!(
//!     clause.as_str(),
//!     "(ZocdocAppointmentId='O''Brien') AND (Status<>'cancelled')"
//! );
//! ```

use std::fmt;

use crate::names::ColumnName;

/// A value in a where-clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Text: written quoted, `'` doubled.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A number; a value that is not finite is written as `NULL` (it matches nothing).
    Number(f64),
    /// A YES/NO value, written `1` or `0`.
    Bool(bool),
}

impl From<&str> for Literal {
    fn from(text: &str) -> Self {
        Literal::Text(text.to_owned())
    }
}

impl From<String> for Literal {
    fn from(text: String) -> Self {
        Literal::Text(text)
    }
}

impl From<&String> for Literal {
    fn from(text: &String) -> Self {
        Literal::Text(text.clone())
    }
}

impl From<i64> for Literal {
    fn from(number: i64) -> Self {
        Literal::Integer(number)
    }
}

impl From<f64> for Literal {
    fn from(number: f64) -> Self {
        Literal::Number(number)
    }
}

impl From<bool> for Literal {
    fn from(value: bool) -> Self {
        Literal::Bool(value)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Text(text) => f.write_str(&quote(text)),
            Literal::Integer(number) => write!(f, "{number}"),
            Literal::Number(number) if number.is_finite() => write!(f, "{number}"),
            Literal::Number(_) => f.write_str("NULL"),
            Literal::Bool(value) => f.write_str(if *value { "1" } else { "0" }),
        }
    }
}

/// `text` as a Caspio string literal: in single quotes, each `'` doubled.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars() {
        if c == '\'' {
            quoted.push('\'');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `=`.
    Eq,
    /// `<>`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Comparison {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Eq => "=",
            Comparison::Ne => "<>",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }
}

/// A where-clause. Made only by this type's constructors; combined with [`Where::and`] and
/// [`Where::or`], which parenthesise both sides.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Where(String);

impl Where {
    /// `column <op> value`.
    pub fn compare(column: &ColumnName, op: Comparison, value: impl Into<Literal>) -> Self {
        Self(format!("{column}{}{}", op.as_str(), value.into()))
    }

    /// `column = value`.
    pub fn eq(column: &ColumnName, value: impl Into<Literal>) -> Self {
        Self::compare(column, Comparison::Eq, value)
    }

    /// `column <> value`.
    pub fn ne(column: &ColumnName, value: impl Into<Literal>) -> Self {
        Self::compare(column, Comparison::Ne, value)
    }

    /// `column LIKE 'pattern'` (`%` and `_` keep their wildcard meaning).
    pub fn like(column: &ColumnName, pattern: &str) -> Self {
        Self(format!("{column} LIKE {}", quote(pattern)))
    }

    /// `column IS NULL`.
    pub fn is_null(column: &ColumnName) -> Self {
        Self(format!("{column} IS NULL"))
    }

    /// `column IS NOT NULL`.
    pub fn is_not_null(column: &ColumnName) -> Self {
        Self(format!("{column} IS NOT NULL"))
    }

    /// `(self) AND (other)`.
    pub fn and(self, other: Where) -> Self {
        Self(format!("({}) AND ({})", self.0, other.0))
    }

    /// `(self) OR (other)`.
    pub fn or(self, other: Where) -> Self {
        Self(format!("({}) OR ({})", self.0, other.0))
    }

    /// `column='a' OR column='b' OR …` for every value (flat, no nesting); `None` for none.
    pub fn any_of<I, V>(column: &ColumnName, values: I) -> Option<Self>
    where
        I: IntoIterator<Item = V>,
        V: Into<Literal>,
    {
        let terms: Vec<String> = values
            .into_iter()
            .map(|value| Where::eq(column, value).0)
            .collect();
        (!terms.is_empty()).then(|| Self(terms.join(" OR ")))
    }

    /// The clause, for `q.where`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn column(name: &str) -> ColumnName {
        ColumnName::new(name).unwrap()
    }

    /// Reads back the literal `quote` wrote, checking that it is one well-formed literal.
    fn unquote(literal: &str) -> Option<String> {
        let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
        let mut out = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' && chars.next() != Some('\'') {
                return None;
            }
            out.push(c);
        }
        Some(out)
    }

    #[test]
    fn values_are_quoted_and_escaped() {
        let name = column("Name");
        assert_eq!(Where::eq(&name, "O'Brien").as_str(), "Name='O''Brien'");
        assert_eq!(
            Where::eq(&name, "O'Brien'); DROP --").as_str(),
            "Name='O''Brien''); DROP --'"
        );
        assert_eq!(Where::eq(&name, 7_i64).as_str(), "Name=7");
        assert_eq!(Where::ne(&name, true).as_str(), "Name<>1");
        assert_eq!(Where::eq(&name, f64::NAN).as_str(), "Name=NULL");
        assert_eq!(Where::like(&name, "O'%").as_str(), "Name LIKE 'O''%'");
        assert_eq!(
            Where::is_null(&name).or(Where::is_not_null(&name)).as_str(),
            "(Name IS NULL) OR (Name IS NOT NULL)"
        );
        assert_eq!(
            Where::any_of(&name, ["a", "b'c"]).unwrap().as_str(),
            "Name='a' OR Name='b''c'"
        );
        assert_eq!(Where::any_of(&name, Vec::<&str>::new()), None);
    }

    proptest! {
        #[test]
        fn every_text_round_trips_as_one_literal(text in any::<String>()) {
            let quoted = quote(&text);
            prop_assert_eq!(unquote(&quoted), Some(text.clone()));
            // The literal's quotes come in pairs inside, so the clause never has an odd count.
            prop_assert_eq!(quoted.matches('\'').count() % 2, 0);
        }

        #[test]
        fn a_clause_is_the_column_the_operator_and_the_literal(
            text in any::<String>(),
            op in prop::sample::select(vec![
                Comparison::Eq, Comparison::Ne, Comparison::Lt,
                Comparison::Le, Comparison::Gt, Comparison::Ge,
            ]),
        ) {
            let clause = Where::compare(&column("Col_1"), op, text.as_str());
            let rest = clause.as_str().strip_prefix("Col_1").unwrap();
            let literal = rest.strip_prefix(op.as_str()).unwrap();
            prop_assert_eq!(unquote(literal), Some(text));
        }
    }
}
