//! `verify`: checks a captured request — a headers file (`Name: value` lines, as `curl -D` writes
//! them) and the raw body file — against the webhook key, and prints the verdict as JSON. Exit
//! status 0 when authentic (fresh or stale), 1 when not.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use deskbridge_zocdoc::webhook::{self, Freshness};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;

use crate::desk::Desk;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The request's headers, one `Name: value` per line (a request or status line is skipped).
    #[arg(long)]
    headers: PathBuf,
    /// The raw request body, byte for byte.
    #[arg(long)]
    body: PathBuf,
}

pub(crate) fn run(desk: &Desk, args: Args) -> anyhow::Result<ExitCode> {
    let key = desk.webhook_key()?;
    let headers_text = std::fs::read_to_string(&args.headers)
        .with_context(|| format!("could not read {}", args.headers.display()))?;
    let headers = parse_headers(&headers_text)?;
    let body = std::fs::read(&args.body)
        .with_context(|| format!("could not read {}", args.body.display()))?;
    let verdict = match webhook::verify(&key, &headers, &body, jiff::Timestamp::now()) {
        Ok(verified) => {
            let event = webhook::parse_event(&body).ok();
            let (freshness, skew) = match verified.freshness {
                Freshness::Fresh => ("fresh", None),
                Freshness::Stale { skew_seconds } => ("stale", Some(skew_seconds)),
            };
            json!({
                "verdict": "authentic",
                "freshness": freshness,
                "skew_seconds": skew,
                "appointment_id": event.as_ref().map(|e| e.appointment_id.clone()),
                "update_type": event.as_ref().map(|e| e.update_type.as_str().to_owned()),
                "dedupe_key": webhook::dedupe_key(&body).as_str(),
            })
        }
        Err(error) => json!({
            "verdict": "rejected",
            "reason": error.reason_code(),
            "message": error.to_string(),
            "body_sha256": webhook::body_sha256_hex(&body),
        }),
    };
    println!("{verdict}");
    Ok(if verdict["verdict"] == "authentic" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Parses `Name: value` lines. Blank lines and an HTTP request or status line are skipped.
fn parse_headers(text: &str) -> anyhow::Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with("HTTP/") || line.contains(" HTTP/") {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            bail!(
                "line {} of the headers file is not `Name: value`",
                number + 1
            );
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .with_context(|| format!("line {} has an invalid header name", number + 1))?;
        let value = HeaderValue::from_str(value.trim())
            .with_context(|| format!("line {} has an invalid header value", number + 1))?;
        headers.append(name, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_curl_style_header_dumps() {
        let headers = parse_headers(
            "POST /webhooks/zocdoc HTTP/1.1\r\nwebhook-timestamp: 1614265330\r\n\
             Webhook-Signature:  v1:abc= ;v2:def=\r\n\r\n",
        )
        .unwrap();
        assert_eq!(headers["webhook-timestamp"], "1614265330");
        assert_eq!(headers["webhook-signature"], "v1:abc= ;v2:def=");
        assert_eq!(headers.len(), 2);
    }

    #[test]
    fn keeps_repeated_headers() {
        let headers = parse_headers("webhook-signature: v1:a\nwebhook-signature: v1:b\n").unwrap();
        assert_eq!(headers.get_all("webhook-signature").iter().count(), 2);
    }

    #[test]
    fn refuses_lines_that_are_not_headers() {
        let error = parse_headers("webhook-timestamp 1614265330\n").unwrap_err();
        assert!(error.to_string().contains("line 1"), "{error}");
    }
}
