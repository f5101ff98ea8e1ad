//! Placeholder: the quickbooks end-to-end tests are being written.
