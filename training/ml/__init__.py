"""Trainers and their pieces, runnable alone: no Django imports anywhere in this package.

The platform launches them as subprocesses (``python -m training.ml.reward train ...``)
and reads what they append to ``OUT/metrics.jsonl``; people can run them by hand on any
preference file.
"""
