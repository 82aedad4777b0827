//! Data sets (filled in by the data issue).
