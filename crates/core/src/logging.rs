//! The log filter every Deskbridge binary uses: what the operator asks for, except the targets
//! known to write request or frame contents (which can hold patient data) below `info`.

use tracing_subscriber::EnvFilter;

/// Targets that log whole WebSocket frames (webhook bodies travel in them) at debug and trace.
const CONTENT_LOGGING_TARGETS: &[&str] = &["tungstenite", "tokio_tungstenite"];

/// The filter from the environment variable `variable` (e.g. `DESKBRIDGE_LOG`), or `default`,
/// with the content-logging targets capped at `info` whatever was asked.
pub fn filter(variable: &str, default: &str) -> EnvFilter {
    let requested = EnvFilter::try_from_env(variable).unwrap_or_else(|_| EnvFilter::new(default));
    cap_content_targets(requested)
}

fn cap_content_targets(requested: EnvFilter) -> EnvFilter {
    CONTENT_LOGGING_TARGETS
        .iter()
        .fold(requested, |filter, target| {
            filter.add_directive(
                format!("{target}=info")
                    .parse()
                    .expect("a target name with a level is a valid directive"),
            )
        })
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex, PoisonError};

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn frame_contents_stay_out_even_when_trace_is_asked() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(cap_content_targets(EnvFilter::new("trace")))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "tungstenite::protocol", "frame: PATIENT-NAME");
            tracing::debug!(target: "tokio_tungstenite", "frame: PATIENT-PHONE");
            tracing::info!(target: "tungstenite::protocol", "connection closed");
            tracing::trace!(target: "deskbridge_core::ingest", "batch of 3");
        });
        let written = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!written.contains("PATIENT"), "{written}");
        assert!(written.contains("connection closed"), "{written}");
        assert!(written.contains("batch of 3"), "{written}");
    }
}
