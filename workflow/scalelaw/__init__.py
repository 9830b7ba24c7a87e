"""scalelaw: measure and fit scaling laws in text and in language models.

Plain functions over pandas DataFrames and Arrow tables, one module per stage:
corpus, tokenize, lengths, generate, fit, report. Nothing here knows Snakemake.
"""

__version__ = "0.1.0"
