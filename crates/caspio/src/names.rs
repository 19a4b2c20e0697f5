//! Names of Caspio tables and columns, checked once when made, so a name is never pasted into a
//! path or a where-clause unchecked. Names are not patient data and may appear in logs.

use std::fmt;

/// Why a table or column name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\u{201c}{name}\u{201d} is not a Caspio {kind} name (letters, digits and underscores, not \
     starting with a digit, at most 64 characters)"
)]
pub struct InvalidName {
    /// `table` or `column`.
    pub kind: &'static str,
    /// The refused name, shortened to 80 characters.
    pub name: String,
}

/// Caspio's rule for table and field names: a letter or `_`, then letters, digits and `_`.
fn check(kind: &'static str, name: &str) -> Result<(), InvalidName> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64;
    if ok {
        Ok(())
    } else {
        Err(InvalidName {
            kind,
            name: name.chars().take(80).collect(),
        })
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps a name.
            pub fn new(name: impl Into<String>) -> Result<Self, InvalidName> {
                let name = name.into();
                check($kind, &name)?;
                Ok(Self(name))
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidName;

            fn try_from(name: &str) -> Result<Self, InvalidName> {
                Self::new(name)
            }
        }
    };
}

name_type! {
    /// A table's name, e.g. `Appointments`.
    TableName, "table"
}

name_type! {
    /// A column's (field's) name, e.g. `ZocdocAppointmentId`.
    ColumnName, "column"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_caspios_rule() {
        assert!(TableName::new("Appointments").is_ok());
        assert!(ColumnName::new("_Zocdoc_Id2").is_ok());
        for bad in ["", "2nd", "a b", "a'b", "a-b", "Name;DROP", "é"] {
            assert!(ColumnName::new(bad).is_err(), "{bad}");
        }
        assert!(TableName::new("x".repeat(65)).is_err());
        let error = TableName::new("a b").unwrap_err();
        assert_eq!(error.kind, "table");
        assert!(error.to_string().contains("a b"));
    }
}
