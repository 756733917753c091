//! The daemon's storage under stress (hardening issue): a full disk is a clear error and the
//! daemon recovers when space returns; the WAL stays bounded however many commits and is
//! emptied when idle; replacing the local key file retires the old key; a write that races
//! the shutdown gets `shutting_down`.

mod common;
#[path = "common/http.rs"]
mod http;

use common::{Conn, TestEnv, hb, is_root, skip, wait_for};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A small tmpfs mounted over a directory, unmounted on drop (before the directory goes).
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        if !is_root() {
            skip("mounting a small tmpfs to fill needs root");
            return None;
        }
        std::fs::create_dir_all(dir).expect("create the mount point");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .expect("run mount");
        if !out.status.success() {
            skip(&format!(
                "cannot mount a tmpfs: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
            return None;
        }
        Some(SmallDisk {
            dir: dir.to_path_buf(),
        })
    }

    /// Fills what is left with a file, and returns it (delete it to free the space).
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.dir.join("filler");
        let mut f = std::fs::File::create(&filler).expect("create the filler");
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.flush();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_daemon_recovers_when_space_returns() {
    let mut env = TestEnv::new();
    let Some(disk) = SmallDisk::mount(&env.base.clone(), "3m") else {
        return;
    };
    env.start_daemon();
    let mut conn = Conn::connect(&env.socket());
    let t0 = common::recent_hour();
    let ok = conn.heartbeats(&[hb(t0, "/d/a.rs", "disk", "Rust")]);
    assert_eq!(ok["accepted"], 1, "{ok}");
    let filler = disk.fill();
    // Many writes into the full disk: each answered with a clear error, none fatal.
    let mut refused = 0;
    for i in 0..300 {
        let items: Vec<_> = (0..20)
            .map(|j| {
                hb(
                    t0 + 1.0 + (i * 20 + j) as f64,
                    &format!("/d/{i}-{j}.rs"),
                    "disk",
                    "Rust",
                )
            })
            .collect();
        let r = conn.request(json!({"v": 1, "type": "heartbeats", "heartbeats": items}));
        if r["type"] == "error" {
            assert_eq!(r["code"], "storage", "{r}");
            let msg = r["message"].as_str().unwrap_or_default();
            assert!(
                msg.contains("disk full") && msg.contains("free some space"),
                "{msg}"
            );
            refused += 1;
        }
    }
    assert!(
        refused > 200,
        "writes into a full disk are refused ({refused} of 300)"
    );
    // Still answering everything that reads.
    let status = conn.status();
    assert_eq!(status["type"], "status", "{status}");
    let st = env.tf(["status"]);
    assert!(st.status.success(), "{}", common::show(&st));

    std::fs::remove_file(&filler).expect("free the space");
    let again = wait_for("writes to work again", || {
        let r = conn.heartbeats(&[hb(t0 + 9000.0, "/d/after.rs", "disk", "Rust")]);
        (r["type"] == "stored").then_some(r)
    });
    assert_eq!(again["accepted"], 1, "{again}");
    // The data from before the disk filled is all there, nothing refused was half stored.
    let log = conn.log_all();
    assert!(log.iter().any(|h| h["entity"] == "/d/a.rs"));
    assert!(log.iter().any(|h| h["entity"] == "/d/after.rs"));
    let status = env.terminate_daemon();
    assert!(status.success(), "clean stop after a full disk: {status:?}");
    assert!(!env.socket().exists(), "the socket is removed");
    drop(disk);
}

fn wal_size(env: &TestEnv) -> u64 {
    let mut p = env.database().into_os_string();
    p.push("-wal");
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn the_wal_stays_bounded_under_many_commits_and_is_emptied_when_idle() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut conn = Conn::connect(&env.socket());
    let t0 = common::recent_hour();
    let mut largest = 0;
    // One heartbeat per request, each answered before the next: one commit each.
    for i in 0..20_000 {
        let r = conn.heartbeats(&[hb(
            t0 + i as f64 * 0.01,
            &format!("/w/{}.rs", i % 50),
            "wal",
            "Rust",
        )]);
        assert_eq!(r["accepted"], 1, "{r}");
        if i % 1000 == 0 {
            largest = largest.max(wal_size(&env));
        }
    }
    largest = largest.max(wal_size(&env));
    assert!(
        largest < 24 * 1024 * 1024,
        "the WAL reached {largest} bytes for 20,000 commits"
    );
    wait_for("the idle daemon to empty its WAL", || {
        (wal_size(&env) == 0).then_some(())
    });
}

#[test]
fn replacing_the_key_file_retires_the_old_key() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let old = http::Api::of(&env);
    assert_eq!(old.get("/api/v1/users/current").status, 200);
    env.terminate_daemon();
    let key_file = env.base.join("api_key");
    let new_key = "3f2b8c1e-9d4a-4b7e-8f6a-1c2d3e4f5a6b";
    std::fs::write(&key_file, format!("{new_key}\n")).expect("replace the key file");
    env.start_daemon();
    let now = http::Api::of(&env);
    assert_eq!(now.key, new_key);
    assert_eq!(now.get("/api/v1/users/current").status, 200);
    let stale = http::Api {
        addr: now.addr,
        key: old.key,
    };
    stale.get("/api/v1/users/current").expect_error(401);
}

#[test]
fn a_write_after_the_shutdown_began_gets_shutting_down() {
    let mut env = TestEnv::new();
    env.start_daemon();
    let mut late = Conn::connect(&env.socket());
    let mut stopper = Conn::connect(&env.socket());
    let ok = stopper.request(json!({"v": 1, "type": "shutdown"}));
    assert_eq!(ok["type"], "ok", "{ok}");
    // A connection made before the stop sends after it: refused with the code for a stopping
    // daemon (or the connection is already closed) — never a storage error.
    late.send(&json!({"v": 1, "type": "heartbeats",
        "heartbeats": [hb(common::recent_hour(), "/late.rs", "late", "Rust")]}));
    if let Some(r) = late.try_recv() {
        assert_eq!(r["type"], "error", "{r}");
        assert_eq!(r["code"], "shutting_down", "{r}");
    }
    let _ = env.terminate_daemon();
}
