"""Benchmarks and the jobs that fit the answer stage. Run each from the repository root as a module:

    .venv/bin/python -m bench.query --sizes 10000      # see bench/README.md for every one

They hold the real Assistant (and, for fitting, read the signals its answer stage computes); none runs in
`make test`, except bench/load.py's short run in tests/test_bench_load.py.
"""
