"""Benchmarks: ``python -m bench`` (``make bench``) prints one table.

Each stage adds a module here with ``run(report: Report) -> None``; the table
and ``var/bench/results.json`` gather every figure with its target.
"""
