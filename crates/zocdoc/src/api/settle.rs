//! Settling a write whose answer was lost: what the appointment, read back, says about whether the
//! write took effect.
//!
//! Zocdoc has no idempotency key, so a write is never sent twice on a guess. When its answer is
//! lost (timeout, broken connection, 5xx, unreadable 2xx body) the client reads the appointment
//! and judges:
//!
//! | write | took effect | did not | cannot tell |
//! | --- | --- | --- | --- |
//! | confirm | `confirmed` | `pending_booking` | any other status |
//! | cancel | `cancelled` | any other known status | an unknown status |
//! | no-show | `no_show` | any other known status | an unknown status |
//! | reschedule to T | start time T, status not failed or cancelled | another start time, status neither `pending_reschedule` nor failed | `pending_reschedule` or `reschedule_failed` at another time, an unknown status |
//! | arrived | status `arrived` (not in the spec's enum; accepted should Zocdoc ever report it) | never | everything else |
//!
//! Arrival is the one write a read-back cannot settle: Zocdoc's `AppointmentStatus` has no
//! `arrived`. Marking an arrival twice sets the same fact twice, so the caller may simply try
//! again; the error says so.

use jiff::Timestamp;

use super::error::Operation;
use super::model::{Appointment, AppointmentStatus};

/// A write, with what it should have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    Confirm,
    Cancel,
    MarkArrived,
    MarkNoShow,
    Reschedule(Timestamp),
}

/// What the read-back shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The write took effect.
    Applied,
    /// The write did not take effect.
    NotApplied,
    /// The appointment does not tell.
    Unknown,
}

impl Intent {
    /// The operation this write is.
    pub(crate) fn operation(self) -> Operation {
        match self {
            Intent::Confirm => Operation::Confirm,
            Intent::Cancel => Operation::Cancel,
            Intent::MarkArrived => Operation::MarkArrived,
            Intent::MarkNoShow => Operation::MarkNoShow,
            Intent::Reschedule(_) => Operation::Reschedule,
        }
    }

    /// Judges the appointment as read back (see the module's table).
    pub(crate) fn judge(self, appointment: &Appointment) -> Verdict {
        use AppointmentStatus as S;
        let status = &appointment.appointment_status;
        match self {
            Intent::Confirm => match status {
                S::Confirmed => Verdict::Applied,
                S::PendingBooking => Verdict::NotApplied,
                _ => Verdict::Unknown,
            },
            Intent::Cancel => target(status, &S::Cancelled),
            Intent::MarkNoShow => target(status, &S::NoShow),
            Intent::MarkArrived => match status {
                S::Other(text) if text == "arrived" => Verdict::Applied,
                _ => Verdict::Unknown,
            },
            Intent::Reschedule(start) => {
                let failed = matches!(
                    status,
                    S::Cancelled | S::BookingFailed | S::RescheduleFailed
                );
                if !status.is_known() {
                    Verdict::Unknown
                } else if appointment.start_time.timestamp() == start && !failed {
                    Verdict::Applied
                } else if matches!(status, S::PendingReschedule | S::RescheduleFailed) {
                    Verdict::Unknown
                } else {
                    Verdict::NotApplied
                }
            }
        }
    }
}

/// For a write that sets `wanted`: applied when the status is `wanted`, not applied for any other
/// known status, unknown otherwise.
fn target(status: &AppointmentStatus, wanted: &AppointmentStatus) -> Verdict {
    if status == wanted {
        Verdict::Applied
    } else if status.is_known() {
        Verdict::NotApplied
    } else {
        Verdict::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::OffsetTime;
    use crate::api::model::fixtures::appointment;

    fn judge(intent: Intent, status: &str) -> Verdict {
        intent.judge(&appointment("a", status))
    }

    #[test]
    fn confirm_is_settled_only_by_confirmed_or_pending_booking() {
        assert_eq!(judge(Intent::Confirm, "confirmed"), Verdict::Applied);
        assert_eq!(
            judge(Intent::Confirm, "pending_booking"),
            Verdict::NotApplied
        );
        assert_eq!(judge(Intent::Confirm, "cancelled"), Verdict::Unknown);
        assert_eq!(judge(Intent::Confirm, "on_hold"), Verdict::Unknown);
    }

    #[test]
    fn cancel_and_no_show_are_settled_by_their_target_status() {
        assert_eq!(judge(Intent::Cancel, "cancelled"), Verdict::Applied);
        assert_eq!(judge(Intent::Cancel, "confirmed"), Verdict::NotApplied);
        assert_eq!(judge(Intent::Cancel, "on_hold"), Verdict::Unknown);
        assert_eq!(judge(Intent::MarkNoShow, "no_show"), Verdict::Applied);
        assert_eq!(judge(Intent::MarkNoShow, "confirmed"), Verdict::NotApplied);
    }

    #[test]
    fn arrival_cannot_be_read_back() {
        for status in ["confirmed", "pending_booking", "no_show", "cancelled"] {
            assert_eq!(judge(Intent::MarkArrived, status), Verdict::Unknown);
        }
        assert_eq!(judge(Intent::MarkArrived, "arrived"), Verdict::Applied);
    }

    #[test]
    fn reschedule_is_settled_by_the_start_time() {
        let old = appointment("a", "confirmed").start_time.timestamp();
        let new = OffsetTime::parse("2030-01-03T10:00:00-05:00")
            .unwrap()
            .timestamp();
        let at = |status: &str, start: Timestamp| {
            let mut read = appointment("a", status);
            read.start_time = OffsetTime::new(start, read.start_time.offset());
            Intent::Reschedule(new).judge(&read)
        };
        assert_eq!(at("rescheduled", new), Verdict::Applied);
        assert_eq!(at("pending_reschedule", new), Verdict::Applied);
        assert_eq!(at("confirmed", new), Verdict::Applied);
        assert_eq!(at("confirmed", old), Verdict::NotApplied);
        assert_eq!(at("rescheduled", old), Verdict::NotApplied);
        assert_eq!(at("pending_reschedule", old), Verdict::Unknown);
        assert_eq!(at("reschedule_failed", new), Verdict::Unknown);
        assert_eq!(at("cancelled", new), Verdict::NotApplied);
        assert_eq!(at("on_hold", new), Verdict::Unknown);
    }
}
