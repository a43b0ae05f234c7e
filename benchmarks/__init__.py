"""Reproducible load and import benchmarks for PrefLab; see benchmarks/README.md."""
