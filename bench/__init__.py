"""Benchmark scripts: each ``bench/<name>.py`` with ``main()`` writes ``bench/results/<name>.*``."""
