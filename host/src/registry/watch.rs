//! Watching the plugin directory: a change under `<system>/<version>/` loads
//! that version once the directory has been quiet for the settle delay, so a
//! file still being written is not read half-way (writing it under an ignored
//! name and renaming it into place is better still: the rename is the only
//! event).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Registry;
use super::source::is_ignored;

/// A running watch; dropping it stops it.
pub struct Watch {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a change touches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// The whole directory.
    All,
    /// One system's directory.
    System(String),
    /// One version's directory.
    Version(String, String),
}

impl Registry {
    /// Watches the plugin directory and loads what changes in it. `None`
    /// without a directory.
    pub fn watch(self: &Arc<Self>) -> Option<Result<Watch, notify::Error>> {
        let dir = self.options.dir.clone()?;
        Some(self.watch_dir(dir))
    }

    fn watch_dir(self: &Arc<Self>, dir: PathBuf) -> Result<Watch, notify::Error> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let start = sender.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                match event {
                    // The registry's own reads must not look like changes.
                    Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
                    Ok(event) => {
                        for path in event.paths {
                            let _ = sender.send(Some(path));
                        }
                    }
                    // Events were lost (the queue overflowed): look at everything.
                    Err(_) => {
                        let _ = sender.send(None);
                    }
                }
            })?;
        watcher.watch(&dir, RecursiveMode::Recursive)?;
        // What landed between the registry's start and the watch is read
        // once the directory is quiet.
        let _ = start.send(None);
        let task = tokio::spawn(settle_and_load(Arc::clone(self), dir, receiver));
        Ok(Watch {
            _watcher: watcher,
            task,
        })
    }
}

/// Collects changed paths, waits for each target to be quiet for the settle
/// delay, then loads it.
async fn settle_and_load(
    registry: Arc<Registry>,
    dir: PathBuf,
    mut changes: mpsc::UnboundedReceiver<Option<PathBuf>>,
) {
    let settle = registry.options.settle;
    let mut due: BTreeMap<Target, Instant> = BTreeMap::new();
    loop {
        let next = due.values().min().copied();
        tokio::select! {
            change = changes.recv() => {
                let Some(change) = change else { return };
                let target = match change {
                    Some(path) => target(&dir, &path),
                    None => Some(Target::All),
                };
                if let Some(target) = target {
                    due.insert(target, Instant::now() + settle);
                }
            }
            () = sleep_until(next), if next.is_some() => {
                let now = Instant::now();
                let ready: Vec<Target> = due
                    .iter()
                    .filter(|(_, at)| **at <= now)
                    .map(|(target, _)| target.clone())
                    .collect();
                for target in ready {
                    due.remove(&target);
                    let changes = match &target {
                        Target::All => registry.reload().await,
                        Target::System(system) => registry.reload_path(system, None).await,
                        Target::Version(system, version) => {
                            registry.reload_path(system, Some(version)).await
                        }
                    };
                    for change in changes {
                        tracing::debug!(source = %change.source, result = %change.result, "plugin directory change handled");
                    }
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// The target a changed path belongs to, or `None` for what is ignored.
fn target(dir: &Path, path: &Path) -> Option<Target> {
    let relative = match path.strip_prefix(dir) {
        Ok(relative) => relative.to_path_buf(),
        // notify names paths under the watched path as given; a symlinked
        // directory may still show up resolved.
        Err(_) => {
            let resolved = dir.canonicalize().ok()?;
            path.strip_prefix(&resolved).ok()?.to_path_buf()
        }
    };
    let parts: Vec<String> = relative
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts
        .iter()
        .any(|part| is_ignored(std::ffi::OsStr::new(part)))
    {
        return None;
    }
    match parts.as_slice() {
        [] => Some(Target::All),
        [system] => Some(Target::System(system.clone())),
        [system, version, ..] => Some(Target::Version(system.clone(), version.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_the_version_they_change() {
        let dir = Path::new("/plugins");
        assert_eq!(
            target(dir, Path::new("/plugins/xero/0.2.0/plugin.wasm")),
            Some(Target::Version("xero".into(), "0.2.0".into()))
        );
        assert_eq!(
            target(dir, Path::new("/plugins/xero/0.2.0")),
            Some(Target::Version("xero".into(), "0.2.0".into()))
        );
        assert_eq!(
            target(dir, Path::new("/plugins/xero")),
            Some(Target::System("xero".into()))
        );
        assert_eq!(target(dir, Path::new("/plugins")), Some(Target::All));
        assert_eq!(
            target(dir, Path::new("/plugins/xero/.0.2.0.staging/plugin.wasm")),
            None
        );
        assert_eq!(
            target(dir, Path::new("/plugins/xero/0.2.0/plugin.wasm.tmp")),
            None
        );
        assert_eq!(target(dir, Path::new("/elsewhere/x")), None);
    }
}
