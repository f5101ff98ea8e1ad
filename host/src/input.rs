//! The size bound of every file preflight reads, and the one way they are
//! read: a file over its bound is refused before it is parsed (and before
//! more than the bound plus one byte is read), with an error that names the
//! file, the kind of input and the bound.
//!
//! | input | bound |
//! |---|---|
//! | a job file (`check --job`) | 1 MiB |
//! | an integration configuration (`check --config`) | 1 MiB |
//! | the operator file (`serve --config`, `plugins list --config`) | 16 MiB |
//! | a component (`*.wasm`) | 128 MiB |
//! | a manifest (`*.toml` beside it) | 64 KiB |
//! | a signature (`*.sig`) | 4 KiB |
//! | a signing key (`plugins sign --key`) | 4 KiB |
//!
//! What arrives over the network has bounds of its own, next to the code
//! that reads it: Pleo's responses ([`crate::pleo::client::MAX_RESPONSE_BYTES`]),
//! webhook and API bodies ([`crate::server::WEBHOOK_BODY_BYTES`],
//! [`crate::server::API_BODY_BYTES`]), and the plugins' requests, responses
//! and reports ([`preflight_runtime::limits`]).

use std::io::Read as _;
use std::path::Path;

/// A kind of file, with its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// An export job as JSON.
    JobFile,
    /// An integration configuration as JSON.
    ConfigFile,
    /// The operator's TOML file.
    OperatorFile,
    /// A plugin component.
    Component,
    /// A plugin manifest.
    Manifest,
    /// A detached signature.
    Signature,
    /// A signing key.
    Key,
    /// A cassette (`preflight test`): a job, a configuration and recorded
    /// exchanges.
    Cassette,
}

impl Input {
    /// The largest file of this kind read, in bytes.
    pub const fn limit(self) -> usize {
        match self {
            Input::JobFile | Input::ConfigFile => 1 << 20,
            Input::OperatorFile | Input::Cassette => 16 << 20,
            Input::Component => 128 << 20,
            Input::Manifest => preflight_runtime::manifest::MAX_BYTES,
            Input::Signature | Input::Key => 4 << 10,
        }
    }

    /// What the file is, for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Input::JobFile => "a job file",
            Input::ConfigFile => "an integration configuration",
            Input::OperatorFile => "the operator file",
            Input::Component => "a component",
            Input::Manifest => "a manifest",
            Input::Signature => "a signature",
            Input::Key => "a signing key",
            Input::Cassette => "a cassette",
        }
    }
}

/// `bytes` as people write a bound: `4 KiB`, `16 MiB`, `1000 bytes`.
pub fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads the file at `path`, refused with `InvalidData` when it is larger
/// than `input`'s bound. The error's text does not repeat the path: callers
/// put it in front, as for every other I/O error.
pub fn read(path: &Path, input: Input) -> std::io::Result<Vec<u8>> {
    let limit = input.limit();
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "larger than the limit of {} for {}",
                size(limit),
                input.name()
            ),
        )
    };
    let file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        ));
    }
    if metadata.len() > limit as u64 {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // A file that grows while it is read (or reports no length) is still
    // held to the bound.
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read`] for a text file: not UTF-8 is `InvalidData` too.
pub fn read_text(path: &Path, input: Input) -> std::io::Result<String> {
    String::from_utf8(read(path, input)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} must be UTF-8 text", input.name()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_its_bound_is_refused_naming_the_bound() {
        let dir = std::env::temp_dir().join(format!("preflight-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("job.json");
        std::fs::write(&path, vec![b' '; Input::JobFile.limit()]).unwrap();
        assert_eq!(
            read(&path, Input::JobFile).unwrap().len(),
            Input::JobFile.limit(),
            "exactly the bound is read"
        );
        std::fs::write(&path, vec![b' '; Input::JobFile.limit() + 1]).unwrap();
        let error = read(&path, Input::JobFile).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(
            error.to_string(),
            "larger than the limit of 1 MiB for a job file"
        );
        std::fs::write(&path, b"\xff\xfe").unwrap();
        let error = read_text(&path, Input::Signature).unwrap_err();
        assert_eq!(error.to_string(), "a signature must be UTF-8 text");
        let error = read(&dir, Input::Manifest).unwrap_err();
        assert_eq!(error.to_string(), "is a directory");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(4 << 10), "4 KiB");
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
