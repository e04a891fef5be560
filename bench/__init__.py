"""Benchmarks: programs that print a table and write bench/results/<name>.md and .json."""
