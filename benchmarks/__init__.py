"""tradelane's benchmarks: the suite behind `tradelane bench` (:mod:`benchmarks.suite`) and the
scripts that reproduce the figures in benchmarks/README.md (run as ``python -m benchmarks.NAME``).
"""
