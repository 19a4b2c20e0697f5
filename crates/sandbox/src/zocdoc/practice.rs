//! The emulated practice: its providers, locations and visit reasons (the directory the API's
//! provider-location and visit-reason routes answer from), and made-up patients.
//!
//! Every name here is invented and meant to look it (surnames such as "Testwell" or "Mockridge",
//! addresses on "Example" streets, `@example.com` addresses, 555-01xx phone numbers), so that no
//! screenshot or log of a demo can be mistaken for a real person's record.

use jiff::civil::Date;
use rand::Rng;
use rand::seq::IndexedRandom;

use super::ids;
use super::model::{ConfirmationType, Patient, PatientAddress, PatientInsurance, Sex, VisitType};

/// The practice whose appointments the emulator holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Practice {
    /// `pt_...`.
    pub practice_id: String,
    /// The practice's name.
    pub name: String,
    /// IANA time zone of every location (start times are answered in its offset).
    pub time_zone: String,
    /// Who sees patients.
    pub providers: Vec<Provider>,
    /// Where (one of them may be virtual).
    pub locations: Vec<Location>,
    /// What for.
    pub visit_reasons: Vec<VisitReason>,
}

/// A provider of the practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// `pr_...`.
    pub provider_id: String,
    /// A made-up first name, e.g. "Ada".
    pub first_name: String,
    /// A made-up last name, e.g. "Placeholder".
    pub last_name: String,
    /// The professional title, e.g. "MD".
    pub title: String,
    /// Where the provider works (ids of [`Practice::locations`]).
    pub location_ids: Vec<String>,
    /// What the provider sees patients for (ids of [`Practice::visit_reasons`]).
    pub visit_reason_ids: Vec<String>,
    /// Length of one appointment slot.
    pub slot_minutes: u32,
    /// Whether bookings are confirmed at once or by hand.
    pub confirmation_type: ConfirmationType,
}

impl Provider {
    /// `full_name` as the directory answers it: "Ada Placeholder, MD".
    pub fn full_name(&self) -> String {
        format!("{} {}, {}", self.first_name, self.last_name, self.title)
    }
}

/// A location of the practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `lo_...`.
    pub location_id: String,
    /// A made-up name.
    pub name: String,
    /// Ten digits.
    pub phone_number: String,
    /// Video visits only (no street address).
    pub is_virtual: bool,
    /// Two-letter code of the state it serves.
    pub state: String,
    /// Where it is; `None` for the virtual location.
    pub address: Option<StreetAddress>,
}

/// The street address of a physical location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreetAddress {
    /// The street line, e.g. "100 Example St".
    pub address1: String,
    /// E.g. "New York".
    pub city: String,
    /// Five digits.
    pub zip_code: String,
}

impl Location {
    /// The visit type of appointments at this location.
    pub fn visit_type(&self) -> VisitType {
        if self.is_virtual {
            VisitType::ZocdocVideoService
        } else {
            VisitType::InPerson
        }
    }
}

/// A visit reason (`pc_...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitReason {
    /// `pc_...`.
    pub visit_reason_id: String,
    /// E.g. "Annual physical".
    pub name: String,
    /// The specialty it belongs to (`sp_...`).
    pub specialty_id: String,
}

/// The specialty of every visit reason: primary care (the spec's example id).
const PRIMARY_CARE_SPECIALTY_ID: &str = "sp_153";

const FIRST_NAMES_FEMALE: &[&str] = &[
    "Ava", "Mia", "Zoe", "Nora", "Ruth", "Iris", "Lena", "Maya", "June", "Clara", "Hazel", "Ida",
];
const FIRST_NAMES_MALE: &[&str] = &[
    "Leo", "Max", "Eli", "Noah", "Otto", "Hugo", "Ezra", "Finn", "Jude", "Milo", "Axel", "Ivan",
];
const LAST_NAMES: &[&str] = &[
    "Testwell",
    "Mockridge",
    "Sampleton",
    "Fakesworth",
    "Placeholder",
    "Dummett",
    "Examplar",
    "Fixtureson",
    "Stubbins",
    "Pretendo",
    "Specimen",
    "Trialby",
];
const STREETS: &[&str] = &[
    "Example St",
    "Sample Ave",
    "Placeholder Rd",
    "Fixture Ln",
    "Mock Blvd",
    "Test Pl",
];
const VISIT_REASONS: &[&str] = &[
    "Annual physical",
    "Sick visit",
    "Follow-up",
    "New patient visit",
    "Vaccination",
    "Lab results review",
];
const CITY: (&str, &str, &str) = ("New York", "NY", "10001");

impl Practice {
    /// A practice of three providers, three locations (one virtual) and six visit reasons in
    /// New York, drawn from `rng`.
    pub fn generate(rng: &mut impl Rng) -> Practice {
        let locations: Vec<Location> = ["Midtown Office", "Downtown Office", "Video Visits"]
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let is_virtual = *name == "Video Visits";
                Location {
                    location_id: ids::directory_id("lo", rng),
                    name: format!("Example Family Medicine {name}"),
                    phone_number: format!("212555{:04}", 100 + index),
                    is_virtual,
                    state: CITY.1.to_owned(),
                    address: (!is_virtual).then(|| StreetAddress {
                        address1: format!("{} {}", 100 * (index + 1), STREETS[index]),
                        city: CITY.0.to_owned(),
                        zip_code: CITY.2.to_owned(),
                    }),
                }
            })
            .collect();
        let visit_reasons: Vec<VisitReason> = VISIT_REASONS
            .iter()
            .map(|name| VisitReason {
                visit_reason_id: ids::visit_reason_id(rng),
                name: (*name).to_owned(),
                specialty_id: PRIMARY_CARE_SPECIALTY_ID.to_owned(),
            })
            .collect();
        let all_reasons: Vec<String> = visit_reasons
            .iter()
            .map(|reason| reason.visit_reason_id.clone())
            .collect();
        let providers = [
            (
                ("Ada", "Placeholder", "MD"),
                vec![0, 2],
                20,
                ConfirmationType::Auto,
            ),
            (
                ("Ben", "Mockridge", "DO"),
                vec![0],
                30,
                ConfirmationType::Auto,
            ),
            (
                ("Cleo", "Sampleton", "NP"),
                vec![1, 2],
                30,
                ConfirmationType::Manual,
            ),
        ]
        .into_iter()
        .map(
            |(
                (first_name, last_name, title),
                location_indexes,
                slot_minutes,
                confirmation_type,
            )| Provider {
                provider_id: ids::directory_id("pr", rng),
                first_name: first_name.to_owned(),
                last_name: last_name.to_owned(),
                title: title.to_owned(),
                location_ids: location_indexes
                    .iter()
                    .map(|&index: &usize| locations[index].location_id.clone())
                    .collect(),
                visit_reason_ids: all_reasons.clone(),
                slot_minutes,
                confirmation_type,
            },
        )
        .collect();
        Practice {
            practice_id: ids::directory_id("pt", rng),
            name: "Example Family Medicine".to_owned(),
            time_zone: "America/New_York".to_owned(),
            providers,
            locations,
            visit_reasons,
        }
    }

    /// The location with this id.
    pub fn location(&self, location_id: &str) -> Option<&Location> {
        self.locations
            .iter()
            .find(|location| location.location_id == location_id)
    }

    /// The provider with this id.
    pub fn provider(&self, provider_id: &str) -> Option<&Provider> {
        self.providers
            .iter()
            .find(|provider| provider.provider_id == provider_id)
    }

    /// The provider and location of a `provider_location_id` (`<provider id>|<location id>`),
    /// when the provider works there.
    pub fn provider_location(&self, provider_location_id: &str) -> Option<(&Provider, &Location)> {
        let (provider_id, location_id) = provider_location_id.split_once('|')?;
        let provider = self.provider(provider_id)?;
        let location = self.location(location_id)?;
        provider
            .location_ids
            .contains(&location.location_id)
            .then_some((provider, location))
    }

    /// The visit reason with this id.
    pub fn visit_reason(&self, visit_reason_id: &str) -> Option<&VisitReason> {
        self.visit_reasons
            .iter()
            .find(|reason| reason.visit_reason_id == visit_reason_id)
    }
}

/// A made-up patient drawn from `rng`, born between 1940 and 2020.
pub(crate) fn fake_patient(rng: &mut impl Rng) -> Patient {
    let sex_at_birth = if rng.random_bool(0.5) {
        Sex::Female
    } else {
        Sex::Male
    };
    let first_names = match sex_at_birth {
        Sex::Female => FIRST_NAMES_FEMALE,
        Sex::Male => FIRST_NAMES_MALE,
    };
    let first_name = pick(first_names, rng);
    let last_name = pick(LAST_NAMES, rng);
    let date_of_birth = Date::new(
        rng.random_range(1940..=2020),
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    )
    .unwrap_or(Date::MIN);
    let insurance = rng.random_bool(0.85).then(|| PatientInsurance {
        insurance_plan_id: Some(format!("ip_{}", rng.random_range(1000..9999))),
        insurance_group_number: Some(format!("GRP{}", rng.random_range(10_000..99_999))),
        insurance_member_id: Some(format!("MBR{}", rng.random_range(100_000..999_999))),
        is_self_pay: Some(false),
    });
    Patient {
        patient_id: Some(format!("pa_{}", rng.random_range(1_000_000..9_999_999))),
        developer_patient_id: None,
        email_address: format!(
            "{}.{}{}@example.com",
            first_name.to_ascii_lowercase(),
            last_name.to_ascii_lowercase(),
            rng.random_range(1..99)
        ),
        first_name: first_name.to_owned(),
        last_name: last_name.to_owned(),
        date_of_birth,
        sex_at_birth,
        // 555-0100..555-0199 is reserved for fiction.
        phone_number: format!("212555{:04}", rng.random_range(100..200)),
        patient_address: PatientAddress {
            address1: format!("{} {}", rng.random_range(1..999), pick(STREETS, rng)),
            address2: rng
                .random_bool(0.3)
                .then(|| format!("Apt {}", rng.random_range(1..40))),
            city: CITY.0.to_owned(),
            state: CITY.1.to_owned(),
            zip_code: CITY.2.to_owned(),
        },
        insurance,
    }
}

fn pick<'a>(choices: &[&'a str], rng: &mut impl Rng) -> &'a str {
    choices.choose(rng).copied().unwrap_or("Example")
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_practice() {
        let first = Practice::generate(&mut ChaCha8Rng::seed_from_u64(7));
        let second = Practice::generate(&mut ChaCha8Rng::seed_from_u64(7));
        let other = Practice::generate(&mut ChaCha8Rng::seed_from_u64(8));
        assert_eq!(first, second);
        assert_ne!(first.practice_id, other.practice_id);
        assert_eq!(first.providers.len(), 3);
        assert_eq!(first.locations.iter().filter(|l| l.is_virtual).count(), 1);
    }

    #[test]
    fn the_directory_names_every_provider_location_and_visit_reason() {
        let practice = Practice::generate(&mut ChaCha8Rng::seed_from_u64(7));
        let ada = &practice.providers[0];
        assert_eq!(ada.full_name(), "Ada Placeholder, MD");
        let id = format!("{}|{}", ada.provider_id, ada.location_ids[0]);
        let (provider, location) = practice.provider_location(&id).unwrap();
        assert_eq!(provider.provider_id, ada.provider_id);
        assert_eq!(
            location.address.as_ref().unwrap().address1,
            "100 Example St"
        );
        let elsewhere = format!("{}|{}", ada.provider_id, practice.locations[1].location_id);
        assert!(practice.provider_location(&elsewhere).is_none());
        assert!(practice.provider_location(&ada.provider_id).is_none());
        for location in &practice.locations {
            assert_eq!(location.address.is_none(), location.is_virtual);
        }
        let reason = &practice.visit_reasons[0];
        assert_eq!(
            practice.visit_reason(&reason.visit_reason_id).unwrap().name,
            "Annual physical"
        );
        assert!(practice.visit_reason("pc_unknown").is_none());
    }

    #[test]
    fn fake_patients_have_valid_contact_fields() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..50 {
            let patient = fake_patient(&mut rng);
            let phone = patient.phone_number.as_bytes();
            assert_eq!(phone.len(), 10);
            assert!(phone.iter().all(u8::is_ascii_digit));
            assert!(!matches!(phone[0], b'0' | b'1') && !matches!(phone[3], b'0' | b'1'));
            assert!(patient.email_address.ends_with("@example.com"));
            assert_eq!(patient.patient_address.zip_code.len(), 5);
            assert!(!format!("{patient:?}").contains(&patient.last_name));
        }
    }
}
