"""Benchmarks: parameter and FLOP counts, inference and training speed, data pipeline
throughput, and side-by-side runs against mmseg's own HRNet."""
