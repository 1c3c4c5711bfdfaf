"""Evaluation data loaders, metrics and calibration scripts over the shared datasets."""
