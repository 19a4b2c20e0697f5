//! Directory types of the Zocdoc API: a provider location (`ProviderLocation`, from
//! `GET /v1/provider_locations/{id}`) and a visit reason (`VisitReasonData`, from
//! `GET /v1/visit_reasons/{id}`), with only the fields that name them on the front desk's board.
//!
//! None of this is patient data: provider, location and visit-reason names are public directory
//! entries. Unknown fields of the answers are ignored.

use super::ids::{ProviderId, ProviderLocationId, VisitReasonId};

open_enum! {
    /// `ProviderLocationType`.
    ProviderLocationType {
        /// `in_person_provider`: visits at a physical location.
        InPersonProvider = "in_person_provider",
        /// `virtual_provider`: video visits (no physical location).
        VirtualProvider = "virtual_provider",
    }
}

/// One provider at one location (`ProviderLocation`), as far as the board names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderLocation {
    /// `provider_location_id`.
    pub provider_location_id: ProviderLocationId,
    /// `provider_location_type`.
    pub provider_location_type: ProviderLocationType,
    /// `provider`.
    pub provider: Provider,
    /// `location`: the physical location (absent for a virtual provider location).
    pub location: Option<Location>,
    /// `virtual_location`: the virtual location (absent for an in-person one).
    pub virtual_location: Option<VirtualLocation>,
}

impl ProviderLocation {
    /// Where the visits take place, for a person: the physical location's name (or address),
    /// else the virtual location's name; `None` when Zocdoc sent neither.
    pub fn location_name(&self) -> Option<String> {
        match (&self.location, &self.virtual_location) {
            (Some(location), _) => Some(location.display_name()),
            (None, Some(place)) => non_blank(place.location_name.as_deref()).map(str::to_owned),
            (None, None) => None,
        }
    }
}

/// The provider of a provider location (`BaseProvider`, whose fields are all optional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// `provider_id`.
    pub provider_id: Option<ProviderId>,
    /// `first_name`.
    pub first_name: Option<String>,
    /// `last_name`.
    pub last_name: Option<String>,
    /// `title`, e.g. `MD`.
    pub title: Option<String>,
    /// `full_name`.
    pub full_name: Option<String>,
}

impl Provider {
    /// The provider's name for a person: `full_name` when Zocdoc sent one, else the first and
    /// last name with the title (`Ada Placeholder, MD`); `None` when Zocdoc sent no name at all.
    pub fn display_name(&self) -> Option<String> {
        if let Some(full_name) = non_blank(self.full_name.as_deref()) {
            return Some(full_name.to_owned());
        }
        let parts: Vec<&str> = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .filter_map(non_blank)
            .collect();
        if parts.is_empty() {
            return None;
        }
        let name = parts.join(" ");
        Some(match non_blank(self.title.as_deref()) {
            Some(title) => format!("{name}, {title}"),
            None => name,
        })
    }
}

/// The physical location of a provider location (`BaseLocation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `location_name`.
    pub location_name: Option<String>,
    /// `address1`: the street address line.
    pub address1: String,
    /// `city`.
    pub city: String,
}

impl Location {
    /// The location's name for a person: `location_name` when Zocdoc sent one, else its address.
    pub fn display_name(&self) -> String {
        match non_blank(self.location_name.as_deref()) {
            Some(name) => name.to_owned(),
            None => self.address_line(),
        }
    }

    /// `<address1>, <city>`, leaving out a blank part.
    pub fn address_line(&self) -> String {
        [self.address1.as_str(), self.city.as_str()]
            .into_iter()
            .filter_map(|part| non_blank(Some(part)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The virtual location of a provider location (`BaseVirtualLocation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualLocation {
    /// `location_name`.
    pub location_name: Option<String>,
}

/// A visit reason (`VisitReasonData`), e.g. "Annual physical".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitReason {
    /// `id`.
    pub visit_reason_id: VisitReasonId,
    /// `name`.
    pub name: String,
}

/// `text` trimmed, unless it is absent or blank.
fn non_blank(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(full: Option<&str>, first: Option<&str>, last: Option<&str>) -> Provider {
        Provider {
            provider_id: None,
            first_name: first.map(str::to_owned),
            last_name: last.map(str::to_owned),
            title: Some("MD".to_owned()),
            full_name: full.map(str::to_owned),
        }
    }

    #[test]
    fn a_provider_is_named_by_full_name_else_by_its_parts() {
        assert_eq!(
            provider(Some("Dr. Ada Placeholder"), Some("Ada"), None).display_name(),
            Some("Dr. Ada Placeholder".to_owned())
        );
        assert_eq!(
            provider(Some(" "), Some("Ada"), Some("Placeholder")).display_name(),
            Some("Ada Placeholder, MD".to_owned())
        );
        assert_eq!(provider(None, None, Some("  ")).display_name(), None);
    }

    #[test]
    fn a_provider_location_is_named_by_its_physical_or_virtual_location() {
        let office = Location {
            location_name: Some("Midtown Office".to_owned()),
            address1: "1 Example St".to_owned(),
            city: "New York".to_owned(),
        };
        let mut place = ProviderLocation {
            provider_location_id: ProviderLocationId::new("pr_a|lo_b"),
            provider_location_type: ProviderLocationType::InPersonProvider,
            provider: provider(None, None, None),
            location: Some(office),
            virtual_location: None,
        };
        assert_eq!(place.location_name().as_deref(), Some("Midtown Office"));
        place.location = None;
        assert_eq!(place.location_name(), None);
        place.virtual_location = Some(VirtualLocation {
            location_name: Some("Video Visits".to_owned()),
        });
        assert_eq!(place.location_name().as_deref(), Some("Video Visits"));
    }

    #[test]
    fn a_location_without_a_name_is_named_by_its_address() {
        let mut location = Location {
            location_name: None,
            address1: "1 Example St".to_owned(),
            city: "New York".to_owned(),
        };
        assert_eq!(location.display_name(), "1 Example St, New York");
        location.location_name = Some("Midtown Office".to_owned());
        assert_eq!(location.display_name(), "Midtown Office");
        location.city = String::new();
        assert_eq!(location.address_line(), "1 Example St");
    }
}
