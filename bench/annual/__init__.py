"""Helpers of `bench/annual_cycle.py`: the platform started as `make run` starts it (stack), the physical
baselines (baselines), the county (county), the year's stages (year), CPU accounting (cpu) and the
report (report)."""
