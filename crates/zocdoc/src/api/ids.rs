//! Newtype ids of the Zocdoc API, so that an appointment id is never passed where a provider id is
//! expected. Ids are not patient data and may appear in logs.

id_type! {
    /// `appointment_id`: Zocdoc's id of an appointment (a UUID in practice).
    AppointmentId
}

id_type! {
    /// `provider_id`, e.g. `pr_abc123-def456_wxyz7890`.
    ProviderId
}

id_type! {
    /// `location_id`, e.g. `lo_abc123-def456_wxyz7890`.
    LocationId
}

id_type! {
    /// `practice_id`, e.g. `pt_abc123-def456_wxyz7890`.
    PracticeId
}

id_type! {
    /// `provider_location_id`: `<provider id>|<location id>`.
    ProviderLocationId
}

id_type! {
    /// `visit_reason_id`, e.g. `pc_FRO-18leckytNKtruw5dLR`.
    VisitReasonId
}

id_type! {
    /// `patient_id`: Zocdoc's id of a patient.
    PatientId
}

id_type! {
    /// `developer_patient_id`: the practice's own patient identifier, as given to Zocdoc.
    DeveloperPatientId
}

id_type! {
    /// `insurance_plan_id`, e.g. `ip_2224`.
    InsurancePlanId
}

id_type! {
    /// `request_id`: Zocdoc's id of one API request, for tracing with Zocdoc support.
    RequestId
}

impl ProviderLocationId {
    /// The provider part (before `|`), when the id has the documented form.
    pub fn provider_id(&self) -> Option<ProviderId> {
        self.0.split_once('|').map(|(provider, _)| provider.into())
    }

    /// The location part (after `|`), when the id has the documented form.
    pub fn location_id(&self) -> Option<LocationId> {
        self.0.split_once('|').map(|(_, location)| location.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_location_id_splits_into_its_parts() {
        let id = ProviderLocationId::new("pr_confirmed|lo_confirmed");
        assert_eq!(id.provider_id(), Some(ProviderId::new("pr_confirmed")));
        assert_eq!(id.location_id(), Some(LocationId::new("lo_confirmed")));
        assert_eq!(ProviderLocationId::new("pr_only").provider_id(), None);
    }

    #[test]
    fn ids_display_as_sent() {
        let id = AppointmentId::from("d2ee5bd8-643a-42c8-8c5a-be450e903430");
        assert_eq!(id.to_string(), "d2ee5bd8-643a-42c8-8c5a-be450e903430");
        assert_eq!(id.as_ref(), id.as_str());
        assert_eq!(id.clone().into_string(), id.as_str());
    }
}
