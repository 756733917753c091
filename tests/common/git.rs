//! The git CLI for tests, isolated from the user's own git: a private HOME, no system config,
//! a fixed author, and the test's `TIMEFORGED_DIR` (so installed hooks talk to its daemon).
//! Included with `#[path = "common/git.rs"] mod git_cli;` next to `mod common;`.

#![allow(dead_code)]

use super::common::{TestEnv, show, skip};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Whether git runs here; says SKIPPED (or fails under TIMEFORGED_REQUIRE_ALL=1) if not.
pub fn have_git() -> bool {
    let ok = Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip("git is not installed");
    }
    ok
}

/// `git` in `dir` with the test's environment.
pub fn git_cmd(env: &TestEnv, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.scratch())
        .env("TZ", "UTC")
        .env("TIMEFORGED_DIR", &env.base)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .stdin(Stdio::null());
    cmd
}

pub fn git(env: &TestEnv, dir: &Path, args: &[&str]) -> Output {
    git_cmd(env, dir, args).output().expect("run git")
}

/// Runs git, fails the test unless it succeeds, returns its trimmed stdout.
pub fn git_ok(env: &TestEnv, dir: &Path, args: &[&str]) -> String {
    let out = git(env, dir, args);
    assert!(out.status.success(), "git {args:?} failed: {}", show(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
