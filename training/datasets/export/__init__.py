"""Turning annotations into dataset files: pure Python, no Django (the source query and
the snapshot bookkeeping live in ``training/services``)."""
