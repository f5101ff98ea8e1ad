//! `preflight replay <JOB>`: runs a recorded validation again, offline,
//! against the exchanges the decision log recorded, with the same plugin
//! version or another, and shows how the verdicts differ: the way to try a
//! candidate version on past jobs before promoting it.

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use preflight::{IntegrationConfig, Plugin, Runtime};
use preflight_runtime::report::CheckStatus;
use preflight_runtime::sandbox::record::Tape;
use preflight_store::Decision;
use sha2::Digest as _;

use super::outcomes::{StoreArgs, print_verdict};
use super::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_INTERNAL, EXIT_OK, EXIT_PLUGIN_FAULT};

/// Arguments of `preflight replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The job whose recorded validation to replay (its latest, unless
    /// `--decision` names another).
    job: uuid::Uuid,
    #[command(flatten)]
    store: StoreArgs,
    /// Which recorded validation of the job (an id from `preflight outcomes`).
    #[arg(long, value_name = "ID")]
    decision: Option<i64>,
    /// The plugin to replay with: a component file (its manifest beside it,
    /// `<name>.toml`) or a bundled plugin's name. Default: the recorded
    /// version, found by digest among the bundled plugins and the
    /// configuration's plugin directory.
    #[arg(long, value_name = "FILE|NAME")]
    plugin: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `preflight replay`. Exit 0: the same verdict; 1: a different one.
pub async fn run(args: ReplayArgs) -> u8 {
    let (store, operator) = match args.store.open().await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let decisions = match store.decisions_of(args.job).await {
        Ok(decisions) => decisions,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_INTERNAL;
        }
    };
    let recorded = match args.decision {
        Some(id) => decisions.into_iter().find(|d| d.id == id),
        None => decisions.into_iter().rfind(|d| d.plugin.is_some()),
    };
    let Some(recorded) = recorded else {
        eprintln!(
            "error: no recorded plugin validation of job {}{} in {}",
            args.job,
            args.decision
                .map(|id| format!(" with id {id}"))
                .unwrap_or_default(),
            store.location()
        );
        return EXIT_BAD_INPUT;
    };
    let (Some(recorded_plugin), Some(snapshot)) = (&recorded.plugin, &recorded.config) else {
        eprintln!(
            "error: validation #{} was decided by the host, not a plugin: nothing to replay",
            recorded.id
        );
        return EXIT_BAD_INPUT;
    };
    let config = match IntegrationConfig::from_value(snapshot.clone(), "") {
        Ok(config) => config,
        Err(error) => {
            eprintln!(
                "error: validation #{}: recorded configuration: {error}",
                recorded.id
            );
            return EXIT_BAD_INPUT;
        }
    };
    let job = match preflight::ExportJob::from_value(recorded.job.clone()) {
        Ok(job) => job,
        Err(error) => {
            eprintln!("error: validation #{}: recorded job: {error}", recorded.id);
            return EXIT_BAD_INPUT;
        }
    };
    let runtime = match super::runtime(preflight::RuntimeOptions {
        max_instances: 4,
        // Nothing is sent: every request is answered from the recording,
        // including those once made to local emulators.
        allow_http_loopback: true,
        ..preflight::RuntimeOptions::default()
    }) {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let plugins_dir = operator.and_then(|operator| operator.plugins.dir);
    let plugin = match &args.plugin {
        Some(name) => {
            preflight::bundled::load(&runtime, name, preflight::bundled::ManifestRule::Optional)
                .await
                .map_err(|error| (error.to_string(), super::load_exit(&error)))
        }
        None => recorded_version(&runtime, &recorded_plugin.digest, plugins_dir.as_deref())
            .await
            .map_err(|problem| (problem, EXIT_BAD_INPUT)),
    };
    let plugin = match plugin {
        Ok(plugin) => plugin,
        Err((problem, code)) => {
            eprintln!("error: {problem}");
            return code;
        }
    };
    let tape = Arc::new(Tape::new(recorded.exchanges.clone()));
    let replayed = plugin.replay(&job, &config, Arc::clone(&tape)).await;
    let outcome = match replayed {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_PLUGIN_FAULT;
        }
    };
    let same = outcome.verdict == recorded.verdict;
    let (used, available) = tape.usage();
    let changes = check_changes(&recorded, &outcome);
    if args.json {
        let document = serde_json::json!({
            "job": args.job,
            "decision": recorded.id,
            "recorded": { "plugin": recorded_plugin, "verdict": recorded.verdict },
            "replayed": {
                "plugin": { "name": plugin.info().name, "version": plugin.info().version, "digest": plugin.digest() },
                "verdict": outcome.verdict,
                "checks": outcome.report.checks,
            },
            "sameVerdict": same,
            "checkChanges": changes.iter().map(|(id, before, after)| serde_json::json!({"check": id, "recorded": before, "replayed": after})).collect::<Vec<_>>(),
            "exchanges": { "played": used, "recorded": available, "unmatched": tape.misses(), "truncated": tape.truncated() },
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&document).expect("documents serialise")
        );
    } else {
        println!("job {} — validation #{}", args.job, recorded.id);
        println!(
            "recorded  {} {}  sha256:{}",
            recorded_plugin.name, recorded_plugin.version, recorded_plugin.digest
        );
        print_verdict("          ", &recorded.verdict);
        println!(
            "replayed  {} {}  sha256:{}",
            plugin.info().name,
            plugin.info().version,
            plugin.digest()
        );
        print_verdict("          ", &outcome.verdict);
        println!();
        if same {
            println!("same verdict");
        } else {
            println!("VERDICT DIFFERS");
        }
        for (id, before, after) in &changes {
            println!("  check {id}: {before} → {after}");
        }
        println!("exchanges: {used} of {available} recorded played back");
        for miss in tape.misses() {
            println!("  not recorded (answered unreachable): {miss}");
        }
        if tape.truncated() > 0 {
            println!(
                "  {} response(s) were cut at the recording cap and played back cut",
                tape.truncated()
            );
        }
    }
    if same { EXIT_OK } else { EXIT_FAIL }
}

/// Checks whose status differs between the recording and the replay:
/// `(id, recorded, replayed)`, `-` where a side has no such check.
fn check_changes(
    recorded: &Decision,
    replayed: &preflight::Outcome,
) -> Vec<(String, String, String)> {
    let status = |s: CheckStatus| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let mut ids: Vec<&str> = recorded.checks.iter().map(|c| c.id.as_str()).collect();
    for check in &replayed.report.checks {
        if !ids.contains(&check.id.as_str()) {
            ids.push(&check.id);
        }
    }
    ids.into_iter()
        .filter_map(|id| {
            let before = recorded
                .checks
                .iter()
                .find(|c| c.id == id)
                .map(|c| status(c.status));
            let after = replayed
                .report
                .checks
                .iter()
                .find(|c| c.id == id)
                .map(|c| status(c.status));
            (before != after).then(|| {
                (
                    id.to_owned(),
                    before.unwrap_or_else(|| "-".to_owned()),
                    after.unwrap_or_else(|| "-".to_owned()),
                )
            })
        })
        .collect()
}

/// The plugin whose component has SHA-256 `digest`: a bundled one, or a
/// version in the plugin directory (`<dir>/<system>/<version>/plugin.wasm`).
async fn recorded_version(
    runtime: &Runtime,
    digest: &str,
    dir: Option<&Path>,
) -> Result<Plugin, String> {
    let hex = |bytes: &[u8]| preflight_runtime::plugin::hex(&sha2::Sha256::digest(bytes));
    for artifact in preflight::bundled::all() {
        if hex(artifact.bytes) == digest {
            return preflight::bundled::load_artifact(runtime, artifact)
                .await
                .map_err(|error| error.to_string());
        }
    }
    if let Some(dir) = dir {
        // The registry owns the directory's layout: a version holds exactly
        // one component, whatever its name, with its manifest beside it.
        for version in preflight::registry::source::version_dirs(dir) {
            let Ok(files) = preflight::registry::source::read_version_dir(&version) else {
                continue;
            };
            if preflight_runtime::plugin::hex(&files.digest) != digest {
                continue;
            }
            let manifest = std::str::from_utf8(&files.manifest)
                .map_err(|_| {
                    format!(
                        "{}: the manifest is not UTF-8",
                        files.manifest_path.display()
                    )
                })
                .and_then(|text| {
                    preflight_runtime::manifest::Manifest::from_toml(text)
                        .map_err(|error| format!("{}: {error}", files.manifest_path.display()))
                })?;
            return runtime
                .load(
                    &files.path.display().to_string(),
                    &files.component,
                    Some(manifest),
                )
                .await
                .map_err(|error| error.to_string());
        }
    }
    Err(format!(
        "the recorded plugin (sha256:{digest}) is not bundled{}; pass --plugin FILE",
        if dir.is_some() {
            " nor in the plugin directory"
        } else {
            ""
        }
    ))
}
