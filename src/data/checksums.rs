//! SHA-256 checksums of the *decompressed* IDX files (the content, so a raw file and its .gz
//! agree). MNIST's are the defaults the downloader verifies against; any other data set in the
//! same format loads too, with a notice.

use sha2::{Digest, Sha256};

/// MNIST's content checksums, in [`super::FILE_STEMS`] order
/// (train images, train labels, test images, test labels).
pub const MNIST_SHA256: [&str; 4] = [
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
];

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether four content checksums (in `FILE_STEMS` order) are MNIST's.
pub fn is_mnist(sha256: &[String; 4]) -> bool {
    sha256
        .iter()
        .zip(MNIST_SHA256)
        .all(|(have, want)| have == want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        // The FIPS 180-2 test vector for "abc".
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
