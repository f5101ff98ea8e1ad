//! Placeholder: the business_central emulator is being written.
