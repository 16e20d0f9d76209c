"""A county's year through the platform's public APIs: the same story for `guanhuai-demo run` (against
`make run`) and for the end-to-end tests (against the embedded platform), parameterised by URLs.

`story.AnnualStory` runs the stages; `summary.YearSummary` is what it found. Nothing here imports a
service: every step is an HTTP call a county's staff, a partner agency or an integrator could make.
"""
