//! Effects from outcomes released under label differential privacy.
#![deny(missing_docs)]
