"""Benchmarks: each prints ratios measured side by side in one run (machines here are shared and noisy)."""
