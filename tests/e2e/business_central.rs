//! Placeholder: the business_central end-to-end tests are being written.
