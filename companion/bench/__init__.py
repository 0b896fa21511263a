"""Benchmarks and quality measurements behind `companion bench`."""
