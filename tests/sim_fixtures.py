"""Fixtures for tests against the simulated phone (filled in by the simulator work)."""
