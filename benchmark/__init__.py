"""Benchmark harness for synthetic omics data generators."""

__version__ = "0.1.0"
