"""Fault tests: crash, concurrency, lost replies and bad input at volume (issue 6, point 3).

Each scenario is a plain function with its sizes as arguments, so that the tests run
it small and `bench/faults.py` runs it at bench size.
"""
