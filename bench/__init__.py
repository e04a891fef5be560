"""Benchmarks: programs that print a table and write <out>/<name>.md and .json (bench/common.py).

Each runs from the repository root as ``python -m bench.<name>``; ``python -m bench`` runs the
suite (bench/run_all.py).
"""
