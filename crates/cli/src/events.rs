//! `events`: the received webhooks as JSON lines, newest first — time, verdict, appointment id,
//! update type. Never a body; rejected requests have none stored anyway.

use std::io::Write as _;
use std::process::ExitCode;

use deskbridge_core::store::{ReceivedSummary, RejectedSummary};
use serde_json::json;

use crate::desk::Desk;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How many to list.
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// List the rejected requests (bad or missing signature) instead.
    #[arg(long)]
    rejected: bool,
}

pub(crate) fn run(desk: &Desk, args: Args) -> anyhow::Result<ExitCode> {
    let store = desk.open_store()?;
    let mut out = std::io::stdout().lock();
    if args.rejected {
        for row in store.list_rejected(args.limit)? {
            writeln!(out, "{}", rejected_line(&row))?;
        }
    } else {
        for row in store.list_received(args.limit)? {
            writeln!(out, "{}", received_line(&row))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn received_line(row: &ReceivedSummary) -> serde_json::Value {
    json!({
        "id": row.id,
        "received_at": row.received_at.to_string(),
        "verdict": row.verdict.as_str(),
        "appointment_id": row.appointment_id,
        "update_type": row.update_type,
        "skew_seconds": row.skew_seconds,
        "duplicates": row.duplicates,
    })
}

fn rejected_line(row: &RejectedSummary) -> serde_json::Value {
    json!({
        "id": row.id,
        "received_at": row.received_at.to_string(),
        "verdict": "rejected",
        "reason": row.reason,
        "body_sha256": row.body_sha256,
        "body_len": row.body_len,
    })
}
