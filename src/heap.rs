//! Giving freed heap memory back to the system. glibc keeps what a burst freed (an import,
//! a year's report) until told otherwise, so an idle daemon would stay at its peak size.

/// Returns the free pages of every malloc arena to the system.
pub fn trim() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap memory to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
}
