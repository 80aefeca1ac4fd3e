"""Benchmarks for issue 8: each module prints its figures and the ratio to its floor."""
