"""The annual cycle end to end: synthetic county, demo runner, demo partner receiver."""
