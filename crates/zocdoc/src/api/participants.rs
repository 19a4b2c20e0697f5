//! The participants of an appointment (`AppointmentParticipantsResponseData`): the patient, which
//! is PHI, and the provider and location ids.
//!
//! `Debug` of every type here prints ids only: no name, date of birth, sex, gender, phone, email,
//! address, insurance detail or attachment link, so that a `{:?}` in a log line cannot leak a
//! patient's data.

use std::fmt;

use jiff::civil::Date;

use super::ids::{DeveloperPatientId, InsurancePlanId, LocationId, PatientId, ProviderId};

open_enum! {
    /// `PatientSex`: sex assigned at birth.
    Sex {
        /// `male`.
        Male = "male",
        /// `female`.
        Female = "female",
    }
}

open_enum! {
    /// `Gender`.
    Gender {
        /// `female_at_birth`.
        FemaleAtBirth = "female_at_birth",
        /// `male_at_birth`.
        MaleAtBirth = "male_at_birth",
        /// `cisgender`.
        Cisgender = "cisgender",
        /// `genderfluid`.
        Genderfluid = "genderfluid",
        /// `genderqueer`.
        Genderqueer = "genderqueer",
        /// `intersex`.
        Intersex = "intersex",
        /// `non_binary`.
        NonBinary = "non_binary",
        /// `transgender_man`.
        TransgenderMan = "transgender_man",
        /// `transgender_woman`.
        TransgenderWoman = "transgender_woman",
        /// `prefer_not_to_say`.
        PreferNotToSay = "prefer_not_to_say",
        /// `none_apply`.
        NoneApply = "none_apply",
    }
}

open_enum! {
    /// `UploadedAttachmentType`.
    AttachmentType {
        /// `insurance_card_medical`.
        InsuranceCardMedical = "insurance_card_medical",
        /// `insurance_card_dental`.
        InsuranceCardDental = "insurance_card_dental",
        /// `insurance_card_vision`.
        InsuranceCardVision = "insurance_card_vision",
        /// `insurance_card_secondary`.
        InsuranceCardSecondary = "insurance_card_secondary",
        /// `id_card`.
        IdCard = "id_card",
        /// `intake_form`.
        IntakeForm = "intake_form",
        /// `community_care_packet`.
        CommunityCarePacket = "community_care_packet",
        /// `pcp_patient_referral`.
        PcpPatientReferral = "pcp_patient_referral",
        /// `other`: a document of another kind (a known value, unlike `Other(text)`).
        OtherDocument = "other",
    }
}

open_enum! {
    /// `DocumentSide`.
    DocumentSide {
        /// `front`.
        Front = "front",
        /// `back`.
        Back = "back",
    }
}

/// `GET /v1/appointments/{id}/participants`.
#[derive(Clone, PartialEq, Eq)]
pub struct Participants {
    /// `patient`: PHI.
    pub patient: Patient,
    /// `provider_id`.
    pub provider_id: ProviderId,
    /// `location_id`.
    pub location_id: LocationId,
}

impl fmt::Debug for Participants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Participants")
            .field("patient", &self.patient)
            .field("provider_id", &self.provider_id)
            .field("location_id", &self.location_id)
            .finish()
    }
}

/// The patient of an appointment (`AppointmentParticipantPatient`). PHI throughout.
#[derive(Clone, PartialEq, Eq)]
pub struct Patient {
    /// `patient_id`.
    pub patient_id: Option<PatientId>,
    /// `developer_patient_id`.
    pub developer_patient_id: Option<DeveloperPatientId>,
    /// `first_name`.
    pub first_name: String,
    /// `last_name`.
    pub last_name: String,
    /// `date_of_birth` (`YYYY-MM-DD`).
    pub date_of_birth: Date,
    /// `sex_at_birth`.
    pub sex_at_birth: Sex,
    /// `phone_number`: 10 digits, unformatted.
    pub phone_number: String,
    /// `email_address`.
    pub email_address: String,
    /// `patient_address`.
    pub address: Address,
    /// `insurance`.
    pub insurance: Option<Insurance>,
    /// `gender`: empty when absent.
    pub gender: Vec<Gender>,
    /// `uploaded_attachments`.
    pub uploaded_attachments: Vec<Attachment>,
    /// `is_booked_by_another_patient`: e.g. a parent booked for a child.
    pub is_booked_by_another_patient: bool,
}

impl fmt::Debug for Patient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Patient")
            .field("patient_id", &self.patient_id)
            .field("developer_patient_id", &self.developer_patient_id)
            .finish_non_exhaustive()
    }
}

/// `PatientAddress`. PHI.
#[derive(Clone, PartialEq, Eq)]
pub struct Address {
    /// `address1`.
    pub address1: String,
    /// `address2`.
    pub address2: Option<String>,
    /// `city`.
    pub city: String,
    /// `state`: two-letter code.
    pub state: String,
    /// `zip_code`: 5 digits.
    pub zip_code: String,
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Address").finish_non_exhaustive()
    }
}

/// `PatientInsurance`. PHI.
#[derive(Clone, PartialEq, Eq)]
pub struct Insurance {
    /// `insurance_plan_id`.
    pub insurance_plan_id: Option<InsurancePlanId>,
    /// `insurance_group_number`.
    pub insurance_group_number: Option<String>,
    /// `insurance_member_id`.
    pub insurance_member_id: Option<String>,
    /// `is_self_pay`.
    pub is_self_pay: Option<bool>,
}

impl fmt::Debug for Insurance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Insurance").finish_non_exhaustive()
    }
}

/// `UploadedAttachment`: a document the patient uploaded. The link needs the same credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// `attachment_type`.
    pub attachment_type: AttachmentType,
    /// `attachment_url` (left out of `Debug`).
    pub attachment_url: String,
    /// `side`: front or back of a card.
    pub side: Option<DocumentSide>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Participants {
        Participants {
            patient: Patient {
                patient_id: Some(PatientId::new("pa_1")),
                developer_patient_id: Some(DeveloperPatientId::new("mrn-77")),
                first_name: "Jane".to_owned(),
                last_name: "Doe".to_owned(),
                date_of_birth: Date::new(1980, 2, 3).unwrap(),
                sex_at_birth: Sex::Female,
                phone_number: "2125550100".to_owned(),
                email_address: "jane@example.com".to_owned(),
                address: Address {
                    address1: "1 Main St".to_owned(),
                    address2: Some("Apt 4".to_owned()),
                    city: "Springfield".to_owned(),
                    state: "NY".to_owned(),
                    zip_code: "10001".to_owned(),
                },
                insurance: Some(Insurance {
                    insurance_plan_id: Some(InsurancePlanId::new("ip_2224")),
                    insurance_group_number: Some("GRP-9".to_owned()),
                    insurance_member_id: Some("MEM-123".to_owned()),
                    is_self_pay: Some(false),
                }),
                gender: vec![Gender::NonBinary],
                uploaded_attachments: vec![Attachment {
                    attachment_type: AttachmentType::IdCard,
                    attachment_url: "https://api/attachments/secret-doc".to_owned(),
                    side: Some(DocumentSide::Front),
                }],
                is_booked_by_another_patient: true,
            },
            provider_id: ProviderId::new("pr_confirmed"),
            location_id: LocationId::new("lo_confirmed"),
        }
    }

    #[test]
    fn debug_prints_ids_and_no_patient_data() {
        let participants = sample();
        let debug = format!("{participants:?} {participants:#?}");
        for id in ["pa_1", "mrn-77", "pr_confirmed", "lo_confirmed"] {
            assert!(debug.contains(id), "{id} missing from {debug}");
        }
        for phi in [
            "Jane",
            "Doe",
            "1980",
            "Female",
            "NonBinary",
            "2125550100",
            "jane@example.com",
            "Main St",
            "Apt 4",
            "Springfield",
            "NY",
            "10001",
            "ip_2224",
            "GRP-9",
            "MEM-123",
            "IdCard",
            "secret-doc",
        ] {
            assert!(!debug.contains(phi), "{phi} leaked into {debug}");
        }
    }

    #[test]
    fn attachment_type_other_is_a_known_value() {
        assert_eq!(
            AttachmentType::from_wire("other"),
            AttachmentType::OtherDocument
        );
        assert!(AttachmentType::from_wire("other").is_known());
        assert_eq!(
            AttachmentType::from_wire("x_ray"),
            AttachmentType::Other("x_ray".to_owned())
        );
    }
}
