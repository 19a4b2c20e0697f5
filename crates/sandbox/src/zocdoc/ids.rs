//! Zocdoc-shaped identifiers drawn from the emulator's seeded randomness: appointment UUIDs,
//! `pr_`/`lo_`/`pt_`/`pc_` directory ids and request ids.

use rand::Rng;

/// A version-4 UUID in its usual lowercase form.
pub(crate) fn uuid_v4(rng: &mut impl Rng) -> String {
    let mut bytes: [u8; 16] = rng.random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A directory id in Zocdoc's form, e.g. `pr_abc123-def456_wxyz7890` for `prefix` `pr`.
pub(crate) fn directory_id(prefix: &str, rng: &mut impl Rng) -> String {
    format!(
        "{prefix}_{}-{}_{}",
        alphanumeric(rng, 6),
        alphanumeric(rng, 6),
        alphanumeric(rng, 8)
    )
}

/// A visit-reason id in Zocdoc's form, e.g. `pc_FRO-18leckytNKtruw5dLR`.
pub(crate) fn visit_reason_id(rng: &mut impl Rng) -> String {
    format!("pc_{}-{}", alphanumeric(rng, 3), alphanumeric(rng, 18))
}

fn alphanumeric(rng: &mut impl Rng, length: usize) -> String {
    const SYMBOLS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..length)
        .map(|_| char::from(SYMBOLS[rng.random_range(0..SYMBOLS.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn uuids_have_the_version_and_variant_bits() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let id = uuid_v4(&mut rng);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }

    #[test]
    fn directory_ids_look_like_zocdocs() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let id = directory_id("pr", &mut rng);
        assert!(id.starts_with("pr_"));
        assert_eq!(id.len(), "pr_abc123-def456_wxyz7890".len());
    }
}
