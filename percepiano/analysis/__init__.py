"""Analysis of trained models: calibration (conformal intervals, percentiles)."""
