//! The Sluice book, compiled as doctests.
