"""Scale-and-speed benchmark: how build, load, memory and query latency grow with the corpus.

Run ``python -m bench --sizes 10000,100000,1000000 --json bench/results.json``. Corpora are
synthetic (real seed sentences recombined, see :mod:`bench.synth`), chunk vectors too (see
:mod:`bench.vectors`); everything timed is the product's own code. ``python -m bench.build``
times ``qa``'s whole build from files with embedding taken out, and ``python -m bench.seeds``
the shipped corpus. Not part of the test suite, except small smoke runs
(``tests/test_bench.py``).
"""
