//! Pleo's export job: the JSON of `GET /v3/export-jobs/{jobId}` (bare or
//! wrapped in `{"data": …}`) and the job file `preflight check --job` reads
//! (as text, then the same decoder), through `ExportJob::from_json`; and each
//! element of a job list through `ExportJob::from_value`, as the listing
//! reads them.
//!
//! Beyond not panicking: a decoded job encodes to JSON that decodes, bare and
//! wrapped, to the same job; a refused document names what is wrong.
#![no_main]

use libfuzzer_sys::fuzz_target;
use preflight_runtime::ExportJob;

fuzz_target!(|data: &[u8]| {
    // `check --job` reads the file as UTF-8 text first; other bytes never
    // reach the decoder.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ExportJob::from_json(text) {
        Ok(job) => round_trips(&job),
        Err(error) => assert!(!error.message.is_empty(), "an error without a message"),
    }
    // A listing decodes each element of its `data` array on its own.
    if let Ok(serde_json::Value::Array(elements)) = serde_json::from_str(text) {
        for element in elements {
            if let Ok(job) = ExportJob::from_value(element) {
                round_trips(&job);
            }
        }
    }
});

fn round_trips(job: &ExportJob) {
    let encoded = serde_json::to_string(job).expect("a job encodes");
    let bare = ExportJob::from_json(&encoded).expect("an encoded job decodes");
    assert_eq!(&bare, job, "bare round trip of {encoded}");
    let wrapped = ExportJob::from_json(&format!(r#"{{"data": {encoded}}}"#))
        .expect("an encoded job decodes wrapped");
    assert_eq!(&wrapped, job, "wrapped round trip of {encoded}");
    let value = serde_json::to_value(job).expect("a job encodes");
    assert_eq!(
        value["status"].as_str(),
        Some(job.status.as_str()),
        "the status's wire name"
    );
}
