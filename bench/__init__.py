"""`make bench`: pipeline, rollbacks and service measured against their floors (docs/benchmarks.md)."""
