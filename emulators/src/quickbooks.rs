//! Placeholder: the quickbooks emulator is being written.
