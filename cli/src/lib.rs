//! The library half of the `preflight` command line: the two parts of it that
//! the end-to-end tests drive directly as well.
//!
//! This package alone depends on the emulators, the native benchmark build and
//! the test components; the service library (`preflight`) depends on none of
//! them.
//!
//! # Layout
//!
//! - [`demo`]: the demonstration run of `preflight demo`, every accounting
//!   system's failure cases through the Pleo emulator;
//! - [`bench`](mod@bench): the benchmarks of `preflight bench`;
//! - [`progress`]: the progress bar both show on a terminal;
//! - the binary (`src/main.rs`, `src/cli.rs`, `src/cli/`): arguments, exit
//!   codes, one file per subcommand.

#![warn(missing_docs)]

pub mod bench;
pub mod demo;
pub mod progress;
