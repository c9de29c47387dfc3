"""Gate math: SLO formulas, latency histograms, verdicts, the features' thresholds and their drift."""
