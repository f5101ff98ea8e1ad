//! Placeholder: the fortnox emulator is being written.
