//! Outputs that are complete or absent: a run's files are written into a staging folder inside
//! the output folder and moved into place only when every one of them is written, so a failed
//! or interrupted run leaves the previous results as they were. A `manifest.json` beside them
//! records the files (size, checksum, format version), the command, the inputs (size and
//! checksum) and the cateye version; a run removes the files of an earlier run that it did not
//! write again (the other per-unit format, say), but only files an earlier manifest lists.
//!
//! The folder is checked for writing before any computing ([`OutputDir::prepare`]), and single
//! files outside it (a model, an exported statistics table) are written the same way
//! ([`write_atomically`]).

use crate::error::{IoError, Result};
use serde::{Deserialize, Serialize};
use std::hash::Hasher;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Name of the manifest file in an output folder.
pub const MANIFEST: &str = "manifest.json";

/// Version of the manifest's own format.
const MANIFEST_VERSION: u32 = 1;

/// Prefix of staging folders (a leftover one belongs to a run that was killed).
const STAGING_PREFIX: &str = ".cateye-staging-";

/// One file of a run, as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// File name, relative to the output folder.
    pub file: String,
    /// Version of the file's format (the JSON schema or table layout).
    pub schema_version: u32,
    /// Size in bytes.
    pub bytes: u64,
    /// XXH3-64 checksum of the content, hexadecimal.
    pub xxh3: String,
}

/// An input of a run: a file with its size and checksum, or a source without a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestInput {
    /// The file name, or the source's label.
    pub source: String,
    /// Size in bytes (files only).
    pub bytes: Option<u64>,
    /// XXH3-64 checksum of the content, hexadecimal (files only).
    pub xxh3: Option<String>,
}

/// What a run wrote, from what, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version of this manifest's format.
    pub manifest_version: u32,
    /// The cateye version that wrote the files.
    pub cateye_version: String,
    /// The command line (or the API call) that produced them.
    pub command: Vec<String>,
    /// The inputs read.
    pub inputs: Vec<ManifestInput>,
    /// The files written, in order.
    pub files: Vec<ManifestFile>,
}

/// An output folder whose files are replaced all together (see the module documentation).
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    staging: PathBuf,
    staged: Vec<(String, u32)>,
    manifest: Manifest,
    previous: Option<Manifest>,
    /// The folder did not exist before [`OutputDir::prepare`]: a run that commits nothing
    /// removes it again (a mistyped input leaves no empty folder behind).
    created: bool,
    committed: bool,
    /// The input checksums being computed, until the first commit.
    checksums: Option<InputChecksums>,
}

fn write_error(path: &Path, e: impl Into<crate::error::Cause>) -> IoError {
    IoError::write(path, e)
}

/// XXH3-64 of a file's content, and its size.
fn checksum(path: &Path) -> std::io::Result<(u64, String)> {
    checksum_of(std::fs::File::open(path)?, &AtomicBool::new(false))
}

/// XXH3-64 of what is left to read of `file`, and its size; stops early (with an error) once
/// `cancel` is set.
fn checksum_of(mut file: std::fs::File, cancel: &AtomicBool) -> std::io::Result<(u64, String)> {
    let mut hasher = twox_hash::XxHash3_64::with_seed(0);
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("cancelled"));
        }
        let k = file.read(&mut buffer)?;
        if k == 0 {
            break;
        }
        hasher.write(&buffer[..k]);
        bytes += k as u64;
    }
    Ok((bytes, format!("{:016x}", hasher.finish())))
}

/// An input's index in the manifest's inputs, and its size and checksum or the read error.
type InputChecksum = (usize, std::io::Result<(u64, String)>);

/// The checksums of a run's input files, computed on a thread of their own while the run reads
/// the inputs (hashing a large input alone before any reading would add its time to the run's).
#[derive(Debug)]
struct InputChecksums {
    thread: std::thread::JoinHandle<Vec<InputChecksum>>,
    cancel: Arc<AtomicBool>,
}

/// Whether process `pid` is running (Linux: `/proc/<pid>`; elsewhere assumed running).
fn is_running(pid: u32) -> bool {
    let proc_dir = Path::new("/proc");
    !proc_dir.exists() || proc_dir.join(pid.to_string()).exists()
}

impl OutputDir {
    /// Creates `dir` if needed and checks that a file can be written in it, before any
    /// computing; removes staging folders left by killed runs. `command` and `inputs` (files or
    /// sources' labels) go into the manifest.
    pub fn prepare(dir: &Path, command: Vec<String>, inputs: &[String]) -> Result<Self> {
        let created = !dir.exists();
        probe_folder(dir, dir)?;
        let pid = std::process::id();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let owner = name.strip_prefix(STAGING_PREFIX).and_then(|rest| rest.split('-').next()?.parse().ok());
                if owner.is_some_and(|p: u32| p != pid && !is_running(p)) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let previous = std::fs::read_to_string(dir.join(MANIFEST)).ok().and_then(|t| serde_json::from_str(&t).ok());
        // Input files are opened now (an unreadable one is an error before any work) and hashed
        // on a thread of their own; the manifest gets their checksums at the first commit.
        let mut files = Vec::new();
        for (k, source) in inputs.iter().enumerate() {
            let path = Path::new(source);
            if path.is_file() {
                files.push((k, std::fs::File::open(path).map_err(|e| IoError::read(source, e))?));
            }
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let checksums = (!files.is_empty()).then(|| {
            let stop = cancel.clone();
            let thread = std::thread::spawn(move || {
                files.into_iter().map(|(k, file)| (k, checksum_of(file, &stop))).collect::<Vec<_>>()
            });
            InputChecksums { thread, cancel }
        });
        let inputs =
            inputs.iter().map(|source| ManifestInput { source: source.clone(), bytes: None, xxh3: None }).collect();
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let staging = dir.join(format!("{STAGING_PREFIX}{pid}-{run}"));
        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            cateye_version: env!("CARGO_PKG_VERSION").to_string(),
            command,
            inputs,
            files: Vec::new(),
        };
        Ok(OutputDir {
            dir: dir.to_path_buf(),
            staging,
            staged: Vec::new(),
            manifest,
            previous,
            created,
            committed: false,
            checksums,
        })
    }

    /// Waits for the checksums of the input files and puts them in the manifest.
    fn input_checksums(&mut self) -> Result<()> {
        let Some(checksums) = self.checksums.take() else { return Ok(()) };
        let sums = checksums.thread.join().map_err(|_| IoError::invalid("input checksums", "the thread panicked"))?;
        for (k, sum) in sums {
            let input = &mut self.manifest.inputs[k];
            let (bytes, xxh3) = sum.map_err(|e| IoError::read(&input.source, e))?;
            (input.bytes, input.xxh3) = (Some(bytes), Some(xxh3));
        }
        Ok(())
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where to write output `name` (format version `schema_version`) now; it moves into the
    /// folder at the next [`Self::commit`].
    pub fn stage(&mut self, name: &str, schema_version: u32) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.staging).map_err(|e| write_error(&self.staging, e))?;
        self.staged.retain(|(n, _)| n != name);
        self.staged.push((name.to_string(), schema_version));
        Ok(self.staging.join(name))
    }

    /// Moves every staged file into the folder, writes the manifest, and removes the files an
    /// earlier run's manifest lists that this run has not written. Returns the files' paths.
    /// Nothing in the folder changes unless every staged file was written.
    pub fn commit(&mut self) -> Result<Vec<PathBuf>> {
        self.input_checksums()?;
        let mut entries = Vec::new();
        for (name, version) in &self.staged {
            let staged = self.staging.join(name);
            let (bytes, xxh3) = checksum(&staged).map_err(|e| write_error(&staged, e))?;
            entries.push(ManifestFile { file: name.clone(), schema_version: *version, bytes, xxh3 });
        }
        let manifest_tmp = self.staging.join(MANIFEST);
        let mut manifest = self.manifest.clone();
        for entry in entries {
            match manifest.files.iter_mut().find(|f| f.file == entry.file) {
                Some(written) => *written = entry,
                None => manifest.files.push(entry),
            }
        }
        std::fs::create_dir_all(&self.staging).map_err(|e| write_error(&self.staging, e))?;
        let json = serde_json::to_string_pretty(&manifest).map_err(|e| write_error(&manifest_tmp, e))?;
        std::fs::write(&manifest_tmp, json).map_err(|e| write_error(&manifest_tmp, e))?;
        // Every file is written: move them in, the manifest last.
        let mut paths = Vec::new();
        for (name, _) in self.staged.drain(..) {
            let target = self.dir.join(&name);
            std::fs::rename(self.staging.join(&name), &target).map_err(|e| write_error(&target, e))?;
            paths.push(target);
        }
        let target = self.dir.join(MANIFEST);
        std::fs::rename(&manifest_tmp, &target).map_err(|e| write_error(&target, e))?;
        if let Some(previous) = self.previous.take() {
            for old in previous.files.iter().filter(|old| !manifest.files.iter().any(|f| f.file == old.file)) {
                let _ = std::fs::remove_file(self.dir.join(&old.file));
            }
        }
        self.manifest = manifest;
        self.committed = true;
        let _ = std::fs::remove_dir(&self.staging);
        Ok(paths)
    }

    /// The manifest of what has been committed so far (the inputs have their checksums from the
    /// first commit on).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if let Some(checksums) = self.checksums.take() {
            checksums.cancel.store(true, Ordering::Relaxed);
        }
        let _ = std::fs::remove_dir_all(&self.staging);
        if self.created && !self.committed {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// Checks, before any computing, that `path` can be written: its folder exists (or is created)
/// and accepts a file.
pub fn check_writable(path: &Path) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    probe_folder(dir, path)
}

/// Creates `dir` if needed and writes (then removes) an empty file in it; a failure is a
/// "cannot write" error naming `target`.
fn probe_folder(dir: &Path, target: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| write_error(target, e))?;
    let probe = dir.join(format!(".cateye-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| write_error(target, e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Writes `path` through `write` (given a temporary path in the same folder, with the same
/// extension) and renames the result into place only when `write` succeeded: an existing file
/// is never left half-written.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // The temporary name ends as the file's does: writers choose the format by extension.
    let tmp = path.with_file_name(format!(".cateye-partial-{}-{name}", std::process::id()));
    let outcome = write(&tmp).and_then(|()| std::fs::rename(&tmp, path).map_err(|e| write_error(path, e)));
    if outcome.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(test: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cateye-output-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn run(dir: &Path, files: &[(&str, &str)]) -> Result<Vec<PathBuf>> {
        let mut out = OutputDir::prepare(dir, vec!["test".into()], &[])?;
        for (name, text) in files {
            let path = out.stage(name, 1)?;
            std::fs::write(&path, text).map_err(|e| write_error(&path, e))?;
        }
        out.commit()
    }

    #[test]
    fn a_failed_run_leaves_the_previous_files_byte_identical() {
        let dir = folder("failed");
        run(&dir, &[("a.json", "first a"), ("b.csv", "first b")]).unwrap();
        let before: Vec<Vec<u8>> =
            ["a.json", "b.csv", MANIFEST].iter().map(|f| std::fs::read(dir.join(f)).unwrap()).collect();
        // The second run writes a, then fails on b (a folder stands where its file would go).
        let mut out = OutputDir::prepare(&dir, vec!["test".into()], &[]).unwrap();
        std::fs::write(out.stage("a.json", 1).unwrap(), "second a").unwrap();
        let b = out.stage("b.csv", 1).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        assert!(std::fs::write(&b, "second b").is_err());
        assert!(out.commit().is_err(), "a staged file that is not a file cannot be committed");
        drop(out);
        let after: Vec<Vec<u8>> =
            ["a.json", "b.csv", MANIFEST].iter().map(|f| std::fs::read(dir.join(f)).unwrap()).collect();
        assert_eq!(before, after);
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers.len(), 3, "no staging folder left behind: {leftovers:?}");
    }

    #[test]
    fn a_run_removes_the_files_of_the_previous_run_it_owns_and_nothing_else() {
        let dir = folder("owned");
        run(&dir, &[("cate.parquet", "p"), ("forest.json", "j")]).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        run(&dir, &[("cate.csv", "c"), ("forest.json", "j2")]).unwrap();
        assert!(!dir.join("cate.parquet").exists(), "the other format's file of the previous run is removed");
        assert!(dir.join("cate.csv").exists() && dir.join("notes.txt").exists());
        let manifest: Manifest = serde_json::from_str(&std::fs::read_to_string(dir.join(MANIFEST)).unwrap()).unwrap();
        let files: Vec<&str> = manifest.files.iter().map(|f| f.file.as_str()).collect();
        assert_eq!(files, ["cate.csv", "forest.json"]);
        assert_eq!(manifest.files[1].bytes, 2);
    }

    #[test]
    fn the_manifest_lists_the_inputs_with_the_checksums_hashed_during_the_run() {
        let dir = folder("inputs");
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("input.bin");
        let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&input, &content).unwrap();
        let out_dir = dir.join("out");
        let sources = [input.display().to_string(), "in-memory table".to_string()];
        let mut out = OutputDir::prepare(&out_dir, vec!["test".into()], &sources).unwrap();
        std::fs::write(out.stage("a.json", 1).unwrap(), "a").unwrap();
        out.commit().unwrap();
        let manifest: Manifest =
            serde_json::from_str(&std::fs::read_to_string(out_dir.join(MANIFEST)).unwrap()).unwrap();
        let hash = format!("{:016x}", twox_hash::XxHash3_64::oneshot_with_seed(0, &content));
        assert_eq!(manifest.inputs[0].bytes, Some(3_000_000));
        assert_eq!(manifest.inputs[0].xxh3.as_deref(), Some(hash.as_str()));
        assert_eq!((manifest.inputs[1].bytes, manifest.inputs[1].xxh3.as_ref()), (None, None));
        assert_eq!(out.manifest().inputs, manifest.inputs);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_folder_is_refused_before_any_work() {
        let dir = folder("unwritable");
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        std::fs::write(&dir, "a file, not a folder").unwrap();
        let err = OutputDir::prepare(&dir, Vec::new(), &[]).unwrap_err().to_string();
        assert!(err.contains("cannot write"), "{err}");
        let _ = std::fs::remove_file(&dir);
    }

    #[test]
    fn a_folder_made_for_a_run_that_wrote_nothing_is_removed() {
        let dir = folder("unused");
        drop(OutputDir::prepare(&dir, Vec::new(), &[]).unwrap());
        assert!(!dir.exists());
        run(&dir, &[("a.json", "a")]).unwrap();
        drop(OutputDir::prepare(&dir, Vec::new(), &[]).unwrap());
        assert!(dir.join("a.json").exists(), "a folder that was there stays");
    }

    #[test]
    fn atomic_single_files_keep_the_old_content_on_failure() {
        let dir = folder("atomic");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.bin");
        std::fs::write(&path, "old").unwrap();
        let failed = write_atomically(&path, |tmp| {
            std::fs::write(tmp, "half").unwrap();
            Err(IoError::invalid("test", "failed midway"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        write_atomically(&path, |tmp| std::fs::write(tmp, "new").map_err(|e| write_error(tmp, e))).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }
}
