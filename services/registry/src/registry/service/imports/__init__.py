"""Bulk import of households and persons from CSV or XLSX files (issue 3, item 8).

`jobs`      the job: upload accepted, run in the background, progress and errors
`validate`  checking rows and preparing them for storage (in worker processes for big files)
`store`     set-based writes of one chunk: staging tables, INSERT … SELECT, life events, outbox
`facts`     household facts of the households a chunk touched, in batches

Kept free of imports here so that worker processes load only what they use.
"""
