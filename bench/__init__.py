"""Benchmarks of pachinko against a raw ASGI floor, Falcon and Litestar (issue 5).

Run with `make bench` (or `python -m bench`); see bench/README.md. Not part of
the test suite.
"""
