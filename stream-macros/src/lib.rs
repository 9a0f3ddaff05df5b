//! Procedural macros for Sluice (placeholder).
