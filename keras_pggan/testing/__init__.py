"""Test corpora shared by the test suite and the benchmarks (importable without path tricks).

Nothing here runs at import time or downloads anything: every corpus is generated on demand
into a folder the caller names.
"""
