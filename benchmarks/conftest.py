"""Benchmarks of the graded implementation against torch's built-ins (see torchkata/bench.py).

    pytest benchmarks --impl=solutions --device=cpu
"""

pytest_plugins = ("torchkata.engine.plugin", "torchkata.bench")
