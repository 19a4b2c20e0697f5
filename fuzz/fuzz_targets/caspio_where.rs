//! Fuzz target: the Caspio emulator's where-clause parser never panics and never recurses
//! without bound, whatever the text; a clause it accepts evaluates against a row without
//! panicking, and every column it names is one the clause contains.
#![no_main]

use deskbridge_sandbox::caspio::filter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(clause) = std::str::from_utf8(data) else {
        return;
    };
    match filter::parse(clause) {
        Ok(expr) => {
            for column in expr.columns() {
                assert!(clause.contains(column));
            }
            let row = serde_json::json!({"Name": "O'Brien", "N": 7, "Yes": true, "When": "2026-03-01T09:30:00"});
            let _ = expr.matches(&|name: &str| row.get(name));
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
