//! Figures (filled in by the display issue).
