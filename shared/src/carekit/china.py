"""China's time zone, one constant for every service: dates of decisions, payments, quiet hours and
provider timestamps are China's (Asia/Shanghai, UTC+8 without daylight saving since 1991)."""

from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
