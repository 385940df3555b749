"""Benchmark and evaluation tools (`make bench`, `make eval`): they measure the builder from
outside, the way a user runs it, and print figures; none of them is a test."""
