//! Directory reads: a provider location and a visit reason are read and named, unknown ids are
//! 404s (with Zocdoc's `ErrorResult` where the spec gives one), 429 and 5xx are retried like any
//! read, an answer that does not match the spec is a decode error, and an empty id is never sent.

use deskbridge_zocdoc::api::{
    DecodeError, Error, Operation, ProviderLocationId, ProviderLocationType, RequestProblem,
    VisitReasonId,
};
use serde_json::json;

use crate::support::{FakeZocdoc, Fault, PROVIDER_LOCATION_ID, Route, VISIT_REASON_ID};

#[tokio::test]
async fn a_provider_location_and_a_visit_reason_are_read_and_named() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();

    let place = client
        .provider_location(&ProviderLocationId::new(PROVIDER_LOCATION_ID))
        .await
        .unwrap();
    assert_eq!(place.provider_location_id.as_str(), PROVIDER_LOCATION_ID);
    assert_eq!(
        place.provider_location_type,
        ProviderLocationType::InPersonProvider
    );
    assert_eq!(
        place.provider.display_name().as_deref(),
        Some("Ada Placeholder, MD")
    );
    assert_eq!(place.provider.title.as_deref(), Some("MD"));
    let location = place.location.unwrap();
    assert_eq!(location.display_name(), "Example Family Medicine Midtown");
    assert_eq!(location.address_line(), "1 Example St, New York");

    let reason = client
        .visit_reason(&VisitReasonId::new(VISIT_REASON_ID))
        .await
        .unwrap();
    assert_eq!(reason.visit_reason_id.as_str(), VISIT_REASON_ID);
    assert_eq!(reason.name, "Annual physical");

    let seen = zocdoc.seen();
    let routes: Vec<Route> = seen.iter().map(|request| request.route).collect();
    assert_eq!(
        routes,
        [Route::Token, Route::ProviderLocation, Route::VisitReason]
    );
    assert!(
        seen[1]
            .authorization
            .as_deref()
            .is_some_and(|value| value.starts_with("Bearer ")),
        "directory reads carry the bearer token"
    );
}

#[tokio::test]
async fn unknown_directory_ids_are_not_found() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();

    let error = client
        .provider_location(&ProviderLocationId::new("pr_gone|lo_gone"))
        .await
        .unwrap_err();
    let Error::NotFound {
        operation,
        appointment_id,
        body,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*operation, Operation::GetProviderLocation);
    assert_eq!(*appointment_id, None);
    assert!(body.as_ref().unwrap().request_id.is_some());
    assert_eq!(error.code(), "zocdoc_not_found");
    assert!(
        error
            .staff_message()
            .starts_with("Zocdoc has no such provider location"),
        "{}",
        error.staff_message()
    );

    let error = client
        .visit_reason(&VisitReasonId::new("pc_gone"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::NotFound {
                operation: Operation::GetVisitReason,
                body: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(zocdoc.count(Route::ProviderLocation), 1, "a 404 is final");
    assert_eq!(zocdoc.count(Route::VisitReason), 1, "a 404 is final");
}

#[tokio::test]
async fn directory_reads_are_retried_like_reads() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, clock) = zocdoc.client();
    zocdoc.push_fault(Route::ProviderLocation, Fault::status(503));
    zocdoc.push_fault(Route::ProviderLocation, Fault::status(429));
    let place = client
        .provider_location(&ProviderLocationId::new(PROVIDER_LOCATION_ID))
        .await
        .unwrap();
    assert_eq!(place.provider_location_id.as_str(), PROVIDER_LOCATION_ID);
    assert_eq!(zocdoc.count(Route::ProviderLocation), 3);
    assert_eq!(clock.sleeps().len(), 2, "one backoff per retry");

    for _ in 0..4 {
        zocdoc.push_fault(Route::VisitReason, Fault::status(500));
    }
    let error = client
        .visit_reason(&VisitReasonId::new(VISIT_REASON_ID))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Server {
                operation: Operation::GetVisitReason,
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(zocdoc.count(Route::VisitReason), 4, "1 + 3 retries");
}

#[tokio::test]
async fn an_answer_off_the_spec_is_a_decode_error() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    zocdoc.push_fault(
        Route::ProviderLocation,
        Fault::with_body(
            200,
            json!({"data": {"provider_location_id": PROVIDER_LOCATION_ID,
                            "provider_location_type": "in_person_provider"}}),
        ),
    );
    let error = client
        .provider_location(&ProviderLocationId::new(PROVIDER_LOCATION_ID))
        .await
        .unwrap_err();
    let Error::Decode {
        operation, problem, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*operation, Operation::GetProviderLocation);
    assert_eq!(
        *problem,
        DecodeError::Missing {
            field: "data.provider".to_owned()
        }
    );

    zocdoc.push_fault(
        Route::VisitReason,
        Fault::with_body(200, json!({"data": {"id": VISIT_REASON_ID}})),
    );
    let error = client
        .visit_reason(&VisitReasonId::new(VISIT_REASON_ID))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Decode {
                problem: DecodeError::Missing { field },
                ..
            } if field == "data.name"
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_empty_directory_id_is_never_sent() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let error = client
        .provider_location(&ProviderLocationId::new(""))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidRequest {
                operation: Operation::GetProviderLocation,
                problem: RequestProblem::EmptyDirectoryId {
                    parameter: "provider_location_id"
                },
            }
        ),
        "{error:?}"
    );
    let error = client
        .visit_reason(&VisitReasonId::new(""))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "get_visit_reason: not sent: the visit_reason_id is empty"
    );
    assert!(zocdoc.seen().is_empty(), "nothing reached Zocdoc");
}
