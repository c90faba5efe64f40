//! (filled in by its owner)

#[cfg(feature = "python")]
pub mod python;
