//! Caspio's `q.where` clauses, as far as real integrations use them: a small recursive-descent
//! parser and an evaluator over a row.
//!
//! Grammar (keywords case-insensitive):
//!
//! ```text
//! clause     := or
//! or         := and ("OR" and)*
//! and        := not ("AND" not)*
//! not        := "NOT" not | "(" or ")" | predicate
//! predicate  := column ( comparison value
//!                      | ["NOT"] "LIKE" string
//!                      | "IS" ["NOT"] "NULL"
//!                      | ["NOT"] "IN" "(" value ("," value)* ")" )
//! comparison := "=" | "<>" | "!=" | "<" | "<=" | ">" | ">="
//! value      := string | number | "NULL"
//! string     := "'" (any character but "'", or "''")* "'"
//! column     := [A-Za-z_][A-Za-z0-9_]*  |  "[" [^\]]+ "]"
//! ```
//!
//! Every malformed clause is a [`WhereError`] (the API answers 400 with Caspio's error body);
//! nothing here panics, and nesting is bounded so a hostile clause cannot exhaust the stack.
//! Comparisons follow SQL Server's default collation: text compares case-insensitively, and a
//! comparison with `NULL` is false.

use std::cmp::Ordering;

use jiff::civil::DateTime;
use serde_json::Value;

/// Deepest nesting of parentheses and `NOT`s accepted.
pub const MAX_DEPTH: usize = 64;

/// Why a where-clause could not be parsed. Positions are byte offsets into the clause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhereError {
    /// The clause is empty.
    #[error("the where clause is empty")]
    Empty,
    /// A string literal is not closed.
    #[error("unclosed quotation mark after the character string starting at {at}")]
    UnterminatedString {
        /// Where the literal starts.
        at: usize,
    },
    /// A `[` column name is not closed.
    #[error("unclosed bracket in the column name starting at {at}")]
    UnterminatedBracket {
        /// Where the name starts.
        at: usize,
    },
    /// A character that starts no token.
    #[error("incorrect syntax near '{found}' at {at}")]
    UnexpectedCharacter {
        /// Where.
        at: usize,
        /// The character.
        found: char,
    },
    /// A token where another was expected.
    #[error("incorrect syntax near '{found}' at {at}: expected {expected}")]
    UnexpectedToken {
        /// Where.
        at: usize,
        /// The token as written (shortened).
        found: String,
        /// What would have fit.
        expected: &'static str,
    },
    /// The clause ends where more was expected.
    #[error("incorrect syntax at the end of the clause: expected {expected}")]
    UnexpectedEnd {
        /// What would have fit.
        expected: &'static str,
    },
    /// A number literal that is not a number.
    #[error("'{found}' at {at} is not a number")]
    BadNumber {
        /// Where.
        at: usize,
        /// The literal.
        found: String,
    },
    /// Too many nested parentheses or `NOT`s.
    #[error("the where clause nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// A column the table does not have.
    #[error("invalid column name '{0}'")]
    UnknownColumn(String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`.
    Eq,
    /// `<>` or `!=`.
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

/// A literal in a clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string, unescaped.
    Text(String),
    /// A number.
    Number(f64),
    /// `NULL`.
    Null,
}

/// A parsed clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `a AND b`.
    And(Box<Expr>, Box<Expr>),
    /// `a OR b`.
    Or(Box<Expr>, Box<Expr>),
    /// `NOT a`.
    Not(Box<Expr>),
    /// `column op value`.
    Compare {
        /// The column.
        column: String,
        /// The operator.
        op: Op,
        /// The value.
        value: Literal,
    },
    /// `column [NOT] LIKE 'pattern'`.
    Like {
        /// The column.
        column: String,
        /// The pattern (`%` any run, `_` one character).
        pattern: String,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// `column IS [NOT] NULL`.
    IsNull {
        /// The column.
        column: String,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `column [NOT] IN (…)`.
    In {
        /// The column.
        column: String,
        /// The values.
        values: Vec<Literal>,
        /// `NOT IN`.
        negated: bool,
    },
}

impl Expr {
    /// Every column the clause names.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect_columns(out);
                b.collect_columns(out);
            }
            Expr::Not(a) => a.collect_columns(out),
            Expr::Compare { column, .. }
            | Expr::Like { column, .. }
            | Expr::IsNull { column, .. }
            | Expr::In { column, .. } => out.push(column),
        }
    }

    /// Whether `row` matches; `column` looks a column's value up (absent: `NULL`).
    pub fn matches<'a>(&self, column: &impl Fn(&str) -> Option<&'a Value>) -> bool {
        match self {
            Expr::And(a, b) => a.matches(column) && b.matches(column),
            Expr::Or(a, b) => a.matches(column) || b.matches(column),
            Expr::Not(a) => !a.matches(column),
            Expr::Compare {
                column: name,
                op,
                value,
            } => compare(column(name), value).is_some_and(|ordering| match op {
                Op::Eq => ordering == Ordering::Equal,
                Op::Ne => ordering != Ordering::Equal,
                Op::Lt => ordering == Ordering::Less,
                Op::Le => ordering != Ordering::Greater,
                Op::Gt => ordering == Ordering::Greater,
                Op::Ge => ordering != Ordering::Less,
            }),
            Expr::Like {
                column: name,
                pattern,
                negated,
            } => match column(name).and_then(as_text) {
                Some(text) => like(&text, pattern) != *negated,
                None => false,
            },
            Expr::IsNull {
                column: name,
                negated,
            } => column(name).is_none_or(Value::is_null) != *negated,
            Expr::In {
                column: name,
                values,
                negated,
            } => {
                let value = column(name);
                if value.is_none_or(Value::is_null) {
                    return false;
                }
                let found = values
                    .iter()
                    .any(|literal| compare(value, literal) == Some(Ordering::Equal));
                found != *negated
            }
        }
    }
}

/// A stored value as text, for `LIKE` (numbers and booleans as SQL Server would print them).
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(if *flag { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

/// How a stored value orders against a literal; `None` when either is `NULL` or they do not
/// compare (a text literal that is no number against a number column, …).
pub fn compare(value: Option<&Value>, literal: &Literal) -> Option<Ordering> {
    let value = value?;
    match (value, literal) {
        (Value::Null, _) | (_, Literal::Null) => None,
        (Value::String(stored), Literal::Text(text)) => {
            match (parse_date(stored), parse_date(text)) {
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => Some(fold(stored).cmp(&fold(text))),
            }
        }
        (Value::String(stored), Literal::Number(number)) => {
            stored.trim().parse::<f64>().ok()?.partial_cmp(number)
        }
        (Value::Number(stored), Literal::Number(number)) => stored.as_f64()?.partial_cmp(number),
        (Value::Number(stored), Literal::Text(text)) => stored
            .as_f64()?
            .partial_cmp(&text.trim().parse::<f64>().ok()?),
        (Value::Bool(flag), Literal::Number(number)) => {
            f64::from(u8::from(*flag)).partial_cmp(number)
        }
        (Value::Bool(flag), Literal::Text(text)) => {
            let wanted = match text.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => return None,
            };
            Some(flag.cmp(&wanted))
        }
        _ => None,
    }
}

/// SQL Server's default collation, roughly: case-insensitive, trailing spaces ignored.
fn fold(text: &str) -> String {
    text.trim_end().to_lowercase()
}

fn parse_date(text: &str) -> Option<DateTime> {
    if text.len() < 10
        || !text.as_bytes()[..10].iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
    {
        return None;
    }
    text.parse::<DateTime>().ok().or_else(|| {
        text.parse::<jiff::civil::Date>()
            .ok()
            .map(|d| d.at(0, 0, 0, 0))
    })
}

/// `LIKE` matching, case-insensitive: `%` any run of characters, `_` exactly one.
pub fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = fold(text).chars().collect();
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    // Iterative wildcard matching with one backtrack point: linear in practice, never recursive.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '_' || pattern[p] == text[t]) {
            t += 1;
            p += 1;
        } else if p < pattern.len() && pattern[p] == '%' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '%')
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Text(String),
    Number(String),
    Op(Op),
    Open,
    Close,
    Comma,
}

impl Token {
    fn shown(&self) -> String {
        let text = match self {
            Token::Ident(name) => name.clone(),
            Token::Text(text) => format!("'{text}'"),
            Token::Number(number) => number.clone(),
            Token::Op(op) => match op {
                Op::Eq => "=",
                Op::Ne => "<>",
                Op::Lt => "<",
                Op::Le => "<=",
                Op::Gt => ">",
                Op::Ge => ">=",
            }
            .to_owned(),
            Token::Open => "(".to_owned(),
            Token::Close => ")".to_owned(),
            Token::Comma => ",".to_owned(),
        };
        text.chars().take(40).collect()
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self, Token::Ident(name) if name.eq_ignore_ascii_case(word))
    }
}

fn tokenize(clause: &str) -> Result<Vec<(usize, Token)>, WhereError> {
    let mut tokens = Vec::new();
    let mut chars = clause.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let token = match c {
            '(' => {
                chars.next();
                Token::Open
            }
            ')' => {
                chars.next();
                Token::Close
            }
            ',' => {
                chars.next();
                Token::Comma
            }
            '=' => {
                chars.next();
                Token::Op(Op::Eq)
            }
            '!' => {
                chars.next();
                match chars.next() {
                    Some((_, '=')) => Token::Op(Op::Ne),
                    _ => return Err(WhereError::UnexpectedCharacter { at, found: '!' }),
                }
            }
            '<' => {
                chars.next();
                match chars.peek() {
                    Some((_, '>')) => {
                        chars.next();
                        Token::Op(Op::Ne)
                    }
                    Some((_, '=')) => {
                        chars.next();
                        Token::Op(Op::Le)
                    }
                    _ => Token::Op(Op::Lt),
                }
            }
            '>' => {
                chars.next();
                if matches!(chars.peek(), Some((_, '='))) {
                    chars.next();
                    Token::Op(Op::Ge)
                } else {
                    Token::Op(Op::Gt)
                }
            }
            '\'' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        None => return Err(WhereError::UnterminatedString { at }),
                        Some((_, '\'')) => {
                            if matches!(chars.peek(), Some((_, '\''))) {
                                chars.next();
                                text.push('\'');
                            } else {
                                break;
                            }
                        }
                        Some((_, c)) => text.push(c),
                    }
                }
                Token::Text(text)
            }
            '[' => {
                chars.next();
                let mut name = String::new();
                loop {
                    match chars.next() {
                        None => return Err(WhereError::UnterminatedBracket { at }),
                        Some((_, ']')) => break,
                        Some((_, c)) => name.push(c),
                    }
                }
                if name.is_empty() {
                    return Err(WhereError::UnexpectedCharacter { at, found: '[' });
                }
                Token::Ident(name)
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                let mut number = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '.' || (c == '-' && number.is_empty()) {
                        number.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                Token::Number(number)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        name.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                Token::Ident(name)
            }
            found => return Err(WhereError::UnexpectedCharacter { at, found }),
        };
        tokens.push((at, token));
    }
    Ok(tokens)
}

const KEYWORDS: [&str; 7] = ["AND", "OR", "NOT", "LIKE", "IS", "NULL", "IN"];

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    depth: usize,
}

/// Parses a clause.
pub fn parse(clause: &str) -> Result<Expr, WhereError> {
    let tokens = tokenize(clause)?;
    if tokens.is_empty() {
        return Err(WhereError::Empty);
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        depth: 0,
    };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some((at, token)) => Err(WhereError::UnexpectedToken {
            at,
            found: token.shown(),
            expected: "AND, OR or the end of the clause",
        }),
    }
}

impl Parser {
    fn peek(&self) -> Option<(usize, Token)> {
        self.tokens.get(self.next).cloned()
    }

    fn bump(&mut self, expected: &'static str) -> Result<(usize, Token), WhereError> {
        let token = self.peek().ok_or(WhereError::UnexpectedEnd { expected })?;
        self.next += 1;
        Ok(token)
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        if self.peek().is_some_and(|(_, token)| token.keyword(word)) {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, word: &str, expected: &'static str) -> Result<(), WhereError> {
        let (at, token) = self.bump(expected)?;
        if token.keyword(word) {
            Ok(())
        } else {
            Err(WhereError::UnexpectedToken {
                at,
                found: token.shown(),
                expected,
            })
        }
    }

    fn enter(&mut self) -> Result<(), WhereError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(WhereError::TooDeep);
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, WhereError> {
        let mut left = self.and()?;
        while self.eat_keyword("OR") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, WhereError> {
        let mut left = self.not()?;
        while self.eat_keyword("AND") {
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, WhereError> {
        if self.eat_keyword("NOT") {
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if matches!(self.peek(), Some((_, Token::Open))) {
            self.next += 1;
            self.enter()?;
            let inner = self.or()?;
            self.depth -= 1;
            let (at, token) = self.bump("a closing parenthesis")?;
            if token != Token::Close {
                return Err(WhereError::UnexpectedToken {
                    at,
                    found: token.shown(),
                    expected: "a closing parenthesis",
                });
            }
            return Ok(inner);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, WhereError> {
        let (at, token) = self.bump("a column name")?;
        let column = match token {
            Token::Ident(name) if !KEYWORDS.iter().any(|k| name.eq_ignore_ascii_case(k)) => name,
            other => {
                return Err(WhereError::UnexpectedToken {
                    at,
                    found: other.shown(),
                    expected: "a column name",
                });
            }
        };
        let expected = "a comparison, LIKE, IS or IN";
        let (at, token) = self.bump(expected)?;
        match token {
            Token::Op(op) => Ok(Expr::Compare {
                column,
                op,
                value: self.value()?,
            }),
            ref word if word.keyword("IS") => {
                let negated = self.eat_keyword("NOT");
                self.expect_keyword("NULL", "NULL")?;
                Ok(Expr::IsNull { column, negated })
            }
            ref word if word.keyword("LIKE") => Ok(Expr::Like {
                column,
                pattern: self.pattern()?,
                negated: false,
            }),
            ref word if word.keyword("IN") => Ok(Expr::In {
                column,
                values: self.list()?,
                negated: false,
            }),
            ref word if word.keyword("NOT") => {
                let (at, token) = self.bump("LIKE or IN")?;
                if token.keyword("LIKE") {
                    Ok(Expr::Like {
                        column,
                        pattern: self.pattern()?,
                        negated: true,
                    })
                } else if token.keyword("IN") {
                    Ok(Expr::In {
                        column,
                        values: self.list()?,
                        negated: true,
                    })
                } else {
                    Err(WhereError::UnexpectedToken {
                        at,
                        found: token.shown(),
                        expected: "LIKE or IN",
                    })
                }
            }
            other => Err(WhereError::UnexpectedToken {
                at,
                found: other.shown(),
                expected,
            }),
        }
    }

    fn value(&mut self) -> Result<Literal, WhereError> {
        let expected = "a quoted string, a number or NULL";
        let (at, token) = self.bump(expected)?;
        match token {
            Token::Text(text) => Ok(Literal::Text(text)),
            Token::Number(number) => match number.parse::<f64>() {
                Ok(value) if value.is_finite() => Ok(Literal::Number(value)),
                _ => Err(WhereError::BadNumber { at, found: number }),
            },
            ref word if word.keyword("NULL") => Ok(Literal::Null),
            other => Err(WhereError::UnexpectedToken {
                at,
                found: other.shown(),
                expected,
            }),
        }
    }

    fn pattern(&mut self) -> Result<String, WhereError> {
        let (at, token) = self.bump("a quoted pattern")?;
        match token {
            Token::Text(text) => Ok(text),
            other => Err(WhereError::UnexpectedToken {
                at,
                found: other.shown(),
                expected: "a quoted pattern",
            }),
        }
    }

    fn list(&mut self) -> Result<Vec<Literal>, WhereError> {
        let (at, token) = self.bump("an opening parenthesis")?;
        if token != Token::Open {
            return Err(WhereError::UnexpectedToken {
                at,
                found: token.shown(),
                expected: "an opening parenthesis",
            });
        }
        let mut values = vec![self.value()?];
        loop {
            let (at, token) = self.bump("a comma or a closing parenthesis")?;
            match token {
                Token::Comma => values.push(self.value()?),
                Token::Close => return Ok(values),
                other => {
                    return Err(WhereError::UnexpectedToken {
                        at,
                        found: other.shown(),
                        expected: "a comma or a closing parenthesis",
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn row_matches(clause: &str, row: &Value) -> bool {
        let expr = parse(clause).unwrap();
        expr.matches(&|name: &str| row.get(name))
    }

    #[test]
    fn the_subset_parses_and_evaluates() {
        let row = json!({"Name": "O'Brien", "N": 7, "Yes": true, "When": "2026-03-01T09:30:00", "Empty": null});
        assert!(row_matches("Name='O''Brien'", &row));
        assert!(row_matches(
            "name = 'o''brien'",
            &json!({"name": "O'Brien"})
        ));
        assert!(row_matches("N>=7 AND N<8", &row));
        assert!(row_matches("N = 1 OR (N <> 1 AND NOT N < 0)", &row));
        assert!(row_matches("Name LIKE 'o%n'", &row));
        assert!(row_matches("Name NOT LIKE 'x%'", &row));
        assert!(row_matches("Empty IS NULL AND Missing IS NULL", &row));
        assert!(row_matches("Name IS NOT NULL", &row));
        assert!(row_matches("Yes = 1 AND Yes='true'", &row));
        assert!(row_matches(
            "When > '2026-03-01' AND When < '2026-03-01T10:00:00'",
            &row
        ));
        assert!(row_matches("N IN (1, 7)", &row));
        assert!(row_matches("[N] NOT IN (1)", &row));
        assert!(!row_matches("Empty = NULL", &row));
        assert!(!row_matches("Empty <> 'x'", &row));
        assert!(
            row_matches("a=1 or a=2 and b=3", &json!({"a": 1, "b": 0})),
            "AND binds tighter"
        );
    }

    #[test]
    fn malformed_clauses_are_typed_errors() {
        assert_eq!(parse("  "), Err(WhereError::Empty));
        assert_eq!(
            parse("Name='abc"),
            Err(WhereError::UnterminatedString { at: 5 })
        );
        assert!(matches!(
            parse("Name='a'; DROP TABLE x"),
            Err(WhereError::UnexpectedCharacter { found: ';', .. })
        ));
        assert!(matches!(
            parse("Name='O'Brien'"),
            Err(WhereError::UnexpectedToken { .. }) | Err(WhereError::UnterminatedString { .. })
        ));
        assert!(matches!(
            parse("(Name='a'"),
            Err(WhereError::UnexpectedEnd { .. })
        ));
        assert!(matches!(
            parse("Name ="),
            Err(WhereError::UnexpectedEnd { .. })
        ));
        assert!(matches!(
            parse("AND = 1"),
            Err(WhereError::UnexpectedToken { .. })
        ));
        assert!(matches!(parse("N = 1x"), Err(WhereError::BadNumber { .. })));
        assert!(matches!(
            parse("N IS 'x'"),
            Err(WhereError::UnexpectedToken { .. })
        ));
        assert_eq!(parse(&"(".repeat(10_000)), Err(WhereError::TooDeep));
        assert_eq!(parse(&"NOT ".repeat(10_000)), Err(WhereError::TooDeep));
    }

    #[test]
    fn like_handles_wildcards_without_blowing_up() {
        assert!(like("abc", "a_c"));
        assert!(like("abc", "%"));
        assert!(like("", "%%"));
        assert!(!like("abc", "a_"));
        assert!(like(&"a".repeat(5_000), &"%a".repeat(200)));
        assert!(!like(&"a".repeat(2_000), &format!("{}b", "%a".repeat(50))));
    }

    fn quote(text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }

    proptest! {
        #[test]
        fn any_quoted_text_round_trips(text in any::<String>()) {
            let expr = parse(&format!("Col={}", quote(&text))).unwrap();
            prop_assert_eq!(
                expr,
                Expr::Compare { column: "Col".to_owned(), op: Op::Eq, value: Literal::Text(text) }
            );
        }

        #[test]
        fn any_input_parses_or_fails_without_panicking(clause in any::<String>()) {
            let _ = parse(&clause);
        }

        #[test]
        fn clause_shaped_input_parses_or_fails_without_panicking(
            clause in r"[ A-Za-z0-9_'=<>!()\[\],.%-]{0,80}"
        ) {
            if let Ok(expr) = parse(&clause) {
                let row = json!({});
                let _ = expr.matches(&|name: &str| row.get(name));
            }
        }
    }
}
