"""Quality-control arithmetic: agreement, reliability and consensus, in plain Python.

No Django and no numpy here: these run inside the submit path on one item's handful of
annotations (K ≤ 9 responses, a few annotators), where plain Python is faster than
building arrays. Tests check them against scipy and the ``krippendorff`` package.
"""
