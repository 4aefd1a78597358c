"""Altair charts from tidy DataFrames: each function takes a DataFrame and returns a chart.

Modules by subject: `curves` (training curves, metric against a parameter, run comparison)
and one module per topic for the charts only that topic draws.
"""
