//! The TimeForged dashboard.
