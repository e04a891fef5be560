"""Benchmarks: programs that print a table and write <out>/<name>.md and .json (bench/common.py)."""
