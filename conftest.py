# The workspace folders `demo/` and `simulators/` share their names with the packages they hold. Under
# `--import-mode=importlib` pytest names a test module after its path (demo.tests.unit.test_x) and would
# register the bare folder as a namespace package `demo`, hiding the real one. Importing the real
# packages first keeps them in place.
import demo  # noqa: F401
import simulators  # noqa: F401
