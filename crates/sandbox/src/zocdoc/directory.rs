//! The practice's directory in its JSON form exactly as `zocdoc-openapi.yml` names it: a
//! `ProviderLocation` (with its `BaseProvider`, `BaseLocationWithDistance` or
//! `BaseVirtualLocation`, `Practice` and `BookingRequirements`) and a `VisitReasonData`.
//! A physical location is answered as `location`, the virtual one as `virtual_location`.

use serde::Serialize;

use super::practice::{Location, Practice, Provider, VisitReason};

/// Where the practice's locations are drawn on a map (midtown Manhattan); the emulator answers
/// no distances, so every location shares it.
const COORDINATES: (f64, f64) = (40.7505, -73.9934);

/// `ProviderLocation`.
#[derive(Debug, Serialize)]
pub(crate) struct ProviderLocationData {
    provider_location_id: String,
    provider_location_type: &'static str,
    accepts_patient_insurance: &'static str,
    provider: ProviderData,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<LocationData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    virtual_location: Option<VirtualLocationData>,
    practice: PracticeData,
    booking_requirements: BookingRequirementsData,
}

/// `BaseProvider`.
#[derive(Debug, Serialize)]
struct ProviderData {
    provider_id: String,
    first_name: String,
    last_name: String,
    title: String,
    full_name: String,
    specialty_ids: Vec<String>,
    default_visit_reason_id: String,
    visit_reason_ids: Vec<String>,
}

/// `BaseLocationWithDistance` (without a distance: no patient position was given).
#[derive(Debug, Serialize)]
struct LocationData {
    address1: String,
    city: String,
    state: String,
    zip_code: String,
    latitude: f64,
    longitude: f64,
    location_name: String,
    phone_number: String,
    time_zone: String,
}

/// `BaseVirtualLocation`.
#[derive(Debug, Serialize)]
struct VirtualLocationData {
    state: String,
    location_name: String,
    time_zone: String,
}

/// `Practice`.
#[derive(Debug, Serialize)]
struct PracticeData {
    practice_id: String,
    practice_name: String,
}

/// `BookingRequirements`: the emulated practice asks for nothing beyond the patient.
#[derive(Debug, Serialize)]
struct BookingRequirementsData {
    required_fields: Vec<String>,
    accepts_booking_requests_from: Vec<&'static str>,
}

impl ProviderLocationData {
    /// `provider` at `location`, of `practice`.
    pub(crate) fn of(
        practice: &Practice,
        provider: &Provider,
        location: &Location,
    ) -> ProviderLocationData {
        let specialty_ids = provider
            .visit_reason_ids
            .iter()
            .filter_map(|id| practice.visit_reason(id))
            .map(|reason| reason.specialty_id.clone())
            .fold(Vec::new(), |mut ids, id| {
                if !ids.contains(&id) {
                    ids.push(id);
                }
                ids
            });
        let physical = location.address.as_ref().map(|address| LocationData {
            address1: address.address1.clone(),
            city: address.city.clone(),
            state: location.state.clone(),
            zip_code: address.zip_code.clone(),
            latitude: COORDINATES.0,
            longitude: COORDINATES.1,
            location_name: location.name.clone(),
            phone_number: location.phone_number.clone(),
            time_zone: practice.time_zone.clone(),
        });
        ProviderLocationData {
            provider_location_id: format!("{}|{}", provider.provider_id, location.location_id),
            provider_location_type: if physical.is_some() {
                "in_person_provider"
            } else {
                "virtual_provider"
            },
            accepts_patient_insurance: "insurance_not_specified",
            provider: ProviderData {
                provider_id: provider.provider_id.clone(),
                first_name: provider.first_name.clone(),
                last_name: provider.last_name.clone(),
                title: provider.title.clone(),
                full_name: provider.full_name(),
                specialty_ids,
                default_visit_reason_id: provider
                    .visit_reason_ids
                    .first()
                    .cloned()
                    .unwrap_or_default(),
                visit_reason_ids: provider.visit_reason_ids.clone(),
            },
            virtual_location: physical.is_none().then(|| VirtualLocationData {
                state: location.state.clone(),
                location_name: location.name.clone(),
                time_zone: practice.time_zone.clone(),
            }),
            location: physical,
            practice: PracticeData {
                practice_id: practice.practice_id.clone(),
                practice_name: practice.name.clone(),
            },
            booking_requirements: BookingRequirementsData {
                required_fields: Vec::new(),
                accepts_booking_requests_from: vec!["in_network", "out_of_network", "self_pay"],
            },
        }
    }
}

/// `VisitReasonData`.
#[derive(Debug, Serialize)]
pub(crate) struct VisitReasonData {
    id: String,
    name: String,
    specialty_id: String,
}

impl VisitReasonData {
    pub(crate) fn of(reason: &VisitReason) -> VisitReasonData {
        VisitReasonData {
            id: reason.visit_reason_id.clone(),
            name: reason.name.clone(),
            specialty_id: reason.specialty_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn a_virtual_location_has_no_address_and_says_so() {
        let practice = Practice::generate(&mut ChaCha8Rng::seed_from_u64(2));
        let provider = &practice.providers[0];
        let video = practice.locations.iter().find(|l| l.is_virtual).unwrap();
        let data =
            serde_json::to_value(ProviderLocationData::of(&practice, provider, video)).unwrap();
        assert_eq!(data["provider_location_type"], "virtual_provider");
        assert!(data.get("location").is_none());
        assert_eq!(
            data["virtual_location"]["location_name"],
            video.name.as_str()
        );
        assert_eq!(data["provider"]["full_name"], "Ada Placeholder, MD");
        assert_eq!(
            data["provider"]["specialty_ids"],
            serde_json::json!(["sp_153"])
        );

        let office = practice.location(&provider.location_ids[0]).unwrap();
        let data =
            serde_json::to_value(ProviderLocationData::of(&practice, provider, office)).unwrap();
        assert_eq!(data["provider_location_type"], "in_person_provider");
        assert_eq!(data["location"]["location_name"], office.name.as_str());
        assert!(data.get("virtual_location").is_none());
    }
}
