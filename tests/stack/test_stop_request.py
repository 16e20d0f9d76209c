"""Ctrl-C, SIGTERM and SIGHUP only ask `make run` to stop: a second signal (uv forwards the terminal's
Ctrl-C once more) interrupts nothing, so the stop that follows always runs to its end."""

import os
import signal
import time
from collections.abc import Iterator

import pytest

from carekit.devstack.stack import StopRequest, StopRequested

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@pytest.fixture
def installed() -> Iterator[StopRequest]:
    before = {signum: signal.getsignal(signum) for signum in SIGNALS}
    stop = StopRequest()
    stop.install()
    try:
        yield stop
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # Python runs the handler between bytecodes of the main thread


@pytest.mark.parametrize("first", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signals_are_noted_and_interrupt_nothing(installed: StopRequest, first: int) -> None:
    assert not installed.requested
    installed.check()  # nothing asked yet
    deliver(first)
    deliver(signal.SIGINT)  # the second Ctrl-C, as uv forwards it
    assert installed.signal_name == signal.Signals(first).name  # the first one is what is reported
    with pytest.raises(StopRequested, match=signal.Signals(first).name):
        installed.check()
