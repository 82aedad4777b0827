//! timeit! (filled in by the timing issue).
