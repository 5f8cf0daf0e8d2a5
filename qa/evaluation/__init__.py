"""Evaluation: metrics and the harness behind `qa eval`."""
