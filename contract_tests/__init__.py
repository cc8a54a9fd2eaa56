"""Contract suites: prove that a service at a base URL implements TuringCore v1.

Only `target.py` may reach the in-process mock; every suite speaks HTTP through
the `httpx.Client` a `Target` gives it.
"""
