//! Clauses built by [`Where`] read back by the emulator's parser as exactly the value given, for
//! any text: quoting and escaping leave no way out of a literal.

use deskbridge_caspio::{ColumnName, Comparison, Where};
use deskbridge_sandbox::caspio::filter::{self, Expr, Literal, Op};
use proptest::prelude::*;

fn op(comparison: Comparison) -> Op {
    match comparison {
        Comparison::Eq => Op::Eq,
        Comparison::Ne => Op::Ne,
        Comparison::Lt => Op::Lt,
        Comparison::Le => Op::Le,
        Comparison::Gt => Op::Gt,
        Comparison::Ge => Op::Ge,
    }
}

proptest! {
    #[test]
    fn any_text_value_parses_back_as_itself(
        text in any::<String>(),
        comparison in prop::sample::select(vec![
            Comparison::Eq, Comparison::Ne, Comparison::Lt,
            Comparison::Le, Comparison::Gt, Comparison::Ge,
        ]),
    ) {
        let column = ColumnName::new("Key").unwrap();
        let clause = Where::compare(&column, comparison, text.as_str());
        prop_assert_eq!(
            filter::parse(clause.as_str()).unwrap(),
            Expr::Compare { column: "Key".to_owned(), op: op(comparison), value: Literal::Text(text) }
        );
    }

    #[test]
    fn combined_clauses_keep_every_value(values in prop::collection::vec(any::<String>(), 1..6)) {
        let column = ColumnName::new("Key").unwrap();
        let clause = Where::any_of(&column, values.iter()).unwrap()
            .and(Where::is_not_null(&column));
        let parsed = filter::parse(clause.as_str()).unwrap();
        let row = serde_json::json!({ "Key": values.last().unwrap() });
        prop_assert!(parsed.matches(&|name: &str| row.get(name)));
    }
}

#[test]
fn a_hostile_value_stays_one_literal() {
    let column = ColumnName::new("Name").unwrap();
    let clause = Where::eq(&column, "O'Brien'); DROP --");
    assert_eq!(
        filter::parse(clause.as_str()).unwrap(),
        Expr::Compare {
            column: "Name".to_owned(),
            op: Op::Eq,
            value: Literal::Text("O'Brien'); DROP --".to_owned())
        }
    );
}
