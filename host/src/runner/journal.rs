//! The runner's journal: which jobs this runner claimed and how far it got,
//! written before each step is acted on, so a restarted runner resumes its own
//! in-progress jobs without a second `started` and leaves alone the jobs it
//! already handed over or failed.
//!
//! Stored as JSON lines in `<state dir>/journal.jsonl`, appended and flushed
//! per record; the last record of a job wins.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::report::FailureReason;

/// How far the runner got with a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// About to post `started`.
    Claiming,
    /// `started` accepted: the job is this runner's.
    Claimed,
    /// Validation failed; about to post `failed` with this reason and message.
    Failing {
        /// The reason type.
        reason: FailureReason,
        /// The message.
        message: String,
    },
    /// Finished: failed early and confirmed, or handed over.
    Done {
        /// `failed` or `handed_over`.
        outcome: String,
    },
    /// Given up without an outcome of ours (another worker claimed it, it
    /// vanished, or it ended on Pleo's side).
    Released,
}

#[derive(Serialize, Deserialize)]
struct Record {
    job: uuid::Uuid,
    #[serde(flatten)]
    stage: Stage,
}

/// Why the journal could not be used.
#[derive(Debug, thiserror::Error)]
#[error("journal {path}: {error}")]
pub struct JournalError {
    path: String,
    error: String,
}

/// The journal.
pub struct Journal {
    path: Option<PathBuf>,
    file: Mutex<Option<File>>,
    stages: Mutex<HashMap<uuid::Uuid, Stage>>,
}

impl Journal {
    /// A journal that lives only as long as the process (for one-shot runs).
    pub fn in_memory() -> Journal {
        Journal {
            path: None,
            file: Mutex::new(None),
            stages: Mutex::new(HashMap::new()),
        }
    }

    /// Opens (or creates) the journal in `dir`, reading what it holds. A
    /// torn last line, left by a crash mid-write, is ignored.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        let path = dir.join("journal.jsonl");
        let fail = |error: std::io::Error| JournalError {
            path: path.display().to_string(),
            error: error.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(fail)?;
        let mut stages = HashMap::new();
        if path.exists() {
            let reader = BufReader::new(File::open(&path).map_err(fail)?);
            for (number, line) in reader.lines().enumerate() {
                let line = line.map_err(fail)?;
                match serde_json::from_str::<Record>(&line) {
                    Ok(record) => {
                        stages.insert(record.job, record.stage);
                    }
                    Err(error) => {
                        tracing::warn!(journal = %path.display(), line = number + 1, %error, "skipping an unreadable journal line")
                    }
                }
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(fail)?;
        // A crash mid-write leaves a line without its newline; start the next
        // record on a line of its own so it is not lost with the torn one.
        let torn = std::fs::read(&path)
            .map_err(fail)?
            .last()
            .is_some_and(|byte| *byte != b'\n');
        if torn {
            file.write_all(b"\n").map_err(fail)?;
        }
        Ok(Journal {
            path: Some(path),
            file: Mutex::new(Some(file)),
            stages: Mutex::new(stages),
        })
    }

    /// The last recorded stage of `job`.
    pub fn stage(&self, job: uuid::Uuid) -> Option<Stage> {
        self.stages.lock().expect("journal lock").get(&job).cloned()
    }

    /// Records `stage` for `job`, durably, before the caller acts on it.
    pub fn record(&self, job: uuid::Uuid, stage: Stage) -> Result<(), JournalError> {
        let mut file = self.file.lock().expect("journal lock");
        if let Some(file) = file.as_mut() {
            let mut line = serde_json::to_string(&Record {
                job,
                stage: stage.clone(),
            })
            .expect("records serialise");
            line.push('\n');
            file.write_all(line.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(|error| JournalError {
                    path: self
                        .path
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    error: error.to_string(),
                })?;
        }
        self.stages.lock().expect("journal lock").insert(job, stage);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_restores_the_last_stage_and_skips_torn_lines() {
        let dir = std::env::temp_dir().join(format!("preflight-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (a, b) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        {
            let journal = Journal::open(&dir).unwrap();
            journal.record(a, Stage::Claiming).unwrap();
            journal.record(a, Stage::Claimed).unwrap();
            journal
                .record(
                    b,
                    Stage::Done {
                        outcome: "failed".into(),
                    },
                )
                .unwrap();
        }
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.join("journal.jsonl"))
            .unwrap();
        file.write_all(br#"{"job":"00000000-0000-0000-0000-00000000000"#)
            .unwrap();
        let journal = Journal::open(&dir).unwrap();
        let c = uuid::Uuid::from_u128(3);
        journal.record(c, Stage::Claiming).unwrap();
        let journal = Journal::open(&dir).unwrap();
        assert_eq!(
            journal.stage(c),
            Some(Stage::Claiming),
            "a record after a torn line survives"
        );
        assert_eq!(journal.stage(a), Some(Stage::Claimed));
        assert_eq!(
            journal.stage(b),
            Some(Stage::Done {
                outcome: "failed".into()
            })
        );
        assert_eq!(journal.stage(uuid::Uuid::from_u128(4)), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
