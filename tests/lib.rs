//! Sluice's integration tests live in `it/` (one test binary, a module per area).
