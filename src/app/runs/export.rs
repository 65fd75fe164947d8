//! The runs' files: JSON with everything a run keeps (imported back as it was written), and CSV
//! with one row per run, the runs table's columns. Reading checks the file's size before reading
//! it, bounds every list while parsing and checks every run before any is used.

use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{MAX_RUNS, Run, RunError};
use crate::app::session::Bounded;

/// What the JSON file says it is.
pub const RUNS_FORMAT: &str = "rbm-lab runs";
/// The newest layout of the JSON file this build reads, and the one it writes.
pub const RUNS_VERSION: u32 = 1;
/// Largest runs file read: [`MAX_RUNS`] runs at their limits take about 6 MB of JSON.
pub const MAX_RUNS_FILE_BYTES: u64 = 16 << 20;

#[derive(Debug, Error)]
pub enum RunsFileError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("the file has {bytes} bytes, more than a runs file's {MAX_RUNS_FILE_BYTES}")]
    TooLarge { bytes: u64 },
    #[error("it is not an rbm-lab runs file ({0})")]
    NotRuns(String),
    #[error("it was written by a newer rbm-lab (runs file version {found}; this one reads up to {RUNS_VERSION})")]
    Newer { found: u64 },
    #[error(transparent)]
    Run(#[from] RunError),
}

#[derive(Serialize, Deserialize)]
struct RunsFile {
    format: String,
    version: u32,
    runs: Bounded<Run, MAX_RUNS>,
}

/// The runs as the JSON file's text.
pub fn runs_to_json(runs: &[Run]) -> Result<String, RunsFileError> {
    let file = RunsFile { format: RUNS_FORMAT.into(), version: RUNS_VERSION, runs: Bounded(runs.to_vec()) };
    serde_json::to_string_pretty(&file).map_err(|e| RunsFileError::Io(io::Error::other(e)))
}

/// Reads a runs file's text: its format and version first, then the runs, each checked.
pub fn runs_from_json(bytes: &[u8]) -> Result<Vec<Run>, RunsFileError> {
    #[derive(Deserialize)]
    struct Header {
        format: Option<String>,
        version: Option<u64>,
    }
    let header: Header = serde_json::from_slice(bytes).map_err(|e| RunsFileError::NotRuns(e.to_string()))?;
    if header.format.as_deref() != Some(RUNS_FORMAT) {
        return Err(RunsFileError::NotRuns(format!("its `format` is not \"{RUNS_FORMAT}\"")));
    }
    match header.version {
        Some(found) if found > u64::from(RUNS_VERSION) => return Err(RunsFileError::Newer { found }),
        Some(1..) => {}
        _ => return Err(RunsFileError::NotRuns("it has no valid `version`".into())),
    }
    let file: RunsFile = serde_json::from_slice(bytes).map_err(|e| RunsFileError::NotRuns(e.to_string()))?;
    file.runs.0.iter().enumerate().try_for_each(|(i, run)| run.check(i + 1))?;
    Ok(file.runs.0)
}

/// Reads the runs file at `path`, its size checked before a byte is read into memory.
pub fn read_runs_file(path: &Path) -> Result<Vec<Run>, RunsFileError> {
    let file = std::fs::File::open(path)?;
    let bytes = file.metadata()?.len();
    if bytes > MAX_RUNS_FILE_BYTES {
        return Err(RunsFileError::TooLarge { bytes });
    }
    let mut text = Vec::with_capacity(bytes as usize);
    // `take`: a file that grows after its size was read still stops at the limit.
    file.take(MAX_RUNS_FILE_BYTES + 1).read_to_end(&mut text)?;
    if text.len() as u64 > MAX_RUNS_FILE_BYTES {
        return Err(RunsFileError::TooLarge { bytes: text.len() as u64 });
    }
    runs_from_json(&text)
}

/// Writes the runs as JSON (atomically).
pub fn write_runs_json(path: &Path, runs: &[Run]) -> Result<(), RunsFileError> {
    let json = runs_to_json(runs)?;
    crate::io::atomic_write(path, |out| out.write_all(json.as_bytes()))?;
    Ok(())
}

/// The CSV's header: the runs table's columns.
pub const CSV_HEADER: &str =
    "name,dataset,model,method,epochs,best_test_log_likelihood,training_seconds,samples_seen,learning_rate,batch_size";

/// One row per run (RFC 4180 quoting), an empty cell where a run has no log-likelihood.
pub fn runs_to_csv(runs: &[Run]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for run in runs {
        let config = &run.last.config;
        let cells = [
            quoted(&run.name),
            quoted(&run.dataset),
            run.model(),
            quoted(&run.method()),
            format!("{:.4}", run.epochs),
            run.best_log_likelihood().map_or_else(String::new, |ll| format!("{ll:.4}")),
            format!("{:.1}", run.training_seconds),
            run.samples_seen.to_string(),
            config.learning_rate.to_string(),
            config.batch_size.to_string(),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A CSV cell: quoted, with quotes doubled, when it holds a comma, a quote or a line break.
fn quoted(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// Writes the runs as CSV (atomically).
pub fn write_runs_csv(path: &Path, runs: &[Run]) -> io::Result<()> {
    let csv = runs_to_csv(runs);
    crate::io::atomic_write(path, |out| out.write_all(csv.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::runs::{RunLikelihood, RunSettings};
    use crate::model::{ModelSpec, TrainingConfig};

    fn run(name: &str) -> Run {
        let settings = RunSettings { spec: ModelSpec::default(), config: TrainingConfig::default() };
        Run {
            name: name.into(),
            dataset: "MNIST".into(),
            n_visible: 784,
            n_hidden: 256,
            first: settings.clone(),
            last: settings,
            epochs: 2.5,
            samples_seen: 150_000,
            samples_at_start: 0,
            training_seconds: 61.25,
            loss: Bounded(vec![[0.0, 0.3], [1.0, 0.2]]),
            epoch_means: Bounded(vec![[0.5, 0.25]]),
            likelihood: Bounded(vec![
                RunLikelihood { epoch: 1.0, test: -120.5, train: -119.0 },
                RunLikelihood { epoch: 2.0, test: -110.25, train: -109.0 },
            ]),
            thumbnail: None,
            shown: true,
        }
    }

    #[test]
    fn json_round_trips_and_refuses_what_is_not_a_runs_file() {
        let runs = vec![run("Run 1"), run("lr \"high\", k=1")];
        let json = runs_to_json(&runs).expect("JSON");
        assert_eq!(runs_from_json(json.as_bytes()).expect("read back"), runs);
        for (text, expected) in [
            ("{}", "not an rbm-lab runs file"),
            ("[1,2", "not an rbm-lab runs file"),
            (r#"{"format":"rbm-lab runs","version":7,"runs":[]}"#, "newer rbm-lab"),
            (r#"{"format":"rbm-lab runs","version":1}"#, "missing field `runs`"),
        ] {
            let error = runs_from_json(text.as_bytes()).expect_err(text).to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let too_many = runs_to_json(&vec![run("a"); MAX_RUNS + 1]).expect("JSON");
        let error = runs_from_json(too_many.as_bytes()).expect_err("too many").to_string();
        assert!(error.contains(&format!("more than {MAX_RUNS} entries")), "{error}");
    }

    #[test]
    fn csv_has_one_quoted_row_per_run() {
        let csv = runs_to_csv(&[run("Run 1"), run("lr \"high\", k=1")]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(
            lines[2],
            "\"lr \"\"high\"\", k=1\",MNIST,784x256,\"CD-10, tutorial\",2.5000,-110.2500,61.2,150000,0.005,64"
        );
    }

    #[test]
    fn oversized_files_are_refused_before_they_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("big.json");
        let file = std::fs::File::create(&path).expect("created");
        file.set_len(MAX_RUNS_FILE_BYTES + 1).expect("sparse file");
        let error = read_runs_file(&path).expect_err("too large");
        assert!(matches!(error, RunsFileError::TooLarge { .. }), "{error}");
    }
}
