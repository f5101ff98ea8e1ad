//! Placeholder: the fortnox end-to-end tests are being written.
