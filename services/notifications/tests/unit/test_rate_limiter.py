import asyncio
import time

import pytest

from notifications.adapters.providers import RateLimiter


async def test_the_bucket_starts_empty_and_fills_at_the_rate() -> None:
    limiter = RateLimiter(rate=200)
    started = time.perf_counter()
    for _ in range(5):
        await limiter.acquire(20)  # 100 messages: 0.5 s at 200/s
    assert time.perf_counter() - started >= 0.45


async def test_concurrent_callers_share_one_budget() -> None:
    limiter = RateLimiter(rate=100)
    started = time.perf_counter()
    await asyncio.gather(*(limiter.acquire(10) for _ in range(5)))
    assert time.perf_counter() - started >= 0.45


async def test_no_take_larger_than_a_second_of_rate() -> None:
    with pytest.raises(ValueError):
        await RateLimiter(rate=100).acquire(11)  # bursts of at most a tenth of a second's worth
