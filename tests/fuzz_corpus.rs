//! Replays every file of the fuzz corpora (`fuzz/corpus/<target>/`) and of the kept crash inputs
//! (`fuzz/regressions/<target>/`) through the same code the cargo-fuzz targets run, on stable, so
//! that a bug the fuzzer found once stays fixed. Fuzzing itself: `fuzz/run`.

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(name: &str, target: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = files(&fuzz.join("corpus").join(name));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{name} is empty or missing: the replay would test nothing"
    );
    let regressions = files(&fuzz.join("regressions").join(name));
    let mut failed = Vec::new();
    for file in corpus.iter().chain(&regressions) {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if std::panic::catch_unwind(|| target(&data)).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{name}: {} of {} inputs fail (reproduce with `cargo +nightly fuzz run {name} FILE`):\n{}",
        failed.len(),
        corpus.len() + regressions.len(),
        failed.join("\n")
    );
}

#[test]
fn protocol_line_corpus() {
    replay("protocol_line", timeforged::fuzzing::protocol_line);
}

#[test]
fn wakatime_ingest_corpus() {
    replay("wakatime_ingest", timeforged::fuzzing::wakatime_ingest);
}

#[test]
fn config_corpus() {
    replay("config", timeforged::fuzzing::config);
}
