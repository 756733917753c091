//! `pow` and `log` for the C code linked into the program (SQLite's SQL math functions and
//! its full-text ranking), the only two functions it took from the system's libm. Defined here
//! (musl's implementations, from the `libm` crate), the link needs nothing from libm.so, so the
//! loader no longer maps it into every process: about 0.5 MB of resident memory in an idle
//! daemon, for two functions the daemon never calls (README, "Memory").

/// `pow(3)`.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// `log(3)`, the natural logarithm.
#[unsafe(no_mangle)]
pub extern "C" fn log(x: f64) -> f64 {
    libm::log(x)
}

#[cfg(test)]
mod tests {
    #[test]
    fn they_compute_what_libm_does() {
        assert_eq!(super::pow(2.0, 10.0), 1024.0);
        assert_eq!(super::pow(9.0, 0.5), 3.0);
        assert!(super::pow(0.0, -1.0).is_infinite());
        assert!(super::pow(-8.0, 1.0 / 3.0).is_nan());
        assert_eq!(super::log(1.0), 0.0);
        assert!((super::log(std::f64::consts::E) - 1.0).abs() < 1e-15);
        assert_eq!(super::log(0.0), f64::NEG_INFINITY);
        assert!(super::log(-1.0).is_nan());
    }
}
