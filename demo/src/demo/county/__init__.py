"""Synthetic county (合成县): households and persons for a real county's townships, deterministic by seed.

`generate_county(seed, persons, ...)` yields households with members, valid resident ID numbers,
phones and bank cards, and the life events that the registry's import file cannot carry (deaths,
disability assessments, honour certificates, low-income spells). `files.write_county` writes them as the
registry's import CSV and an events JSONL file; `load.py` puts them into a running registry.
"""
