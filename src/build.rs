//! Link options for a small resident daemon (README, "Memory").
//!
//! The kernel maps a program's code 64 KiB around each page it touches, so the functions a day of
//! use runs are laid out side by side at the start of `.text`, in the order
//! `src/bin/timeforged.order` lists them (made by `benches/link_order.sh`): an idle daemon then
//! keeps about 3.6 MiB of code resident instead of 8. Relative relocations are packed (DT_RELR), so
//! the loader reads a few KiB of them instead of 320 KiB at every start.
//!
//! Both need LLD, Rust's default linker for x86-64 Linux since 1.90. Elsewhere, or when the
//! linker was chosen by hand, the link stays as it was: the program is the same, only laid out
//! as the compiler left it.

use std::env;
use std::process::Command;

const ORDER: &str = "src/bin/timeforged.order";

fn main() {
    println!("cargo:rerun-if-changed={ORDER}");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    if !links_with_rust_lld() {
        return;
    }
    let order = format!(
        "{}/{ORDER}",
        env::var("CARGO_MANIFEST_DIR").unwrap_or_default()
    );
    // A function the list names but the program no longer has (renamed, inlined) is skipped.
    println!("cargo:rustc-link-arg-bin=timeforged=-Wl,--symbol-ordering-file={order}");
    println!("cargo:rustc-link-arg-bin=timeforged=-Wl,--no-warn-symbol-ordering");
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}

/// Whether rustc links this build with its own LLD: x86-64 Linux with glibc, Rust 1.90 or
/// later, and no linker set by hand (a flag naming one, or Cargo's per-target setting).
fn links_with_rust_lld() -> bool {
    let target = env::var("TARGET").unwrap_or_default();
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let chosen_by_hand = flags.contains("linker")
        || env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some();
    target == "x86_64-unknown-linux-gnu"
        && !chosen_by_hand
        && rustc_minor().is_some_and(|minor| minor >= 90)
}

/// The minor version of the rustc that builds this (`rustc 1.95.0 (…)` → 95).
fn rustc_minor() -> Option<u32> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc).arg("-V").output().ok()?;
    let version = String::from_utf8(output.stdout).ok()?;
    let mut numbers = version.split_whitespace().nth(1)?.split('.');
    (numbers.next()? == "1").then_some(())?;
    numbers.next()?.parse().ok()
}
