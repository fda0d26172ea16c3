"""Scene generators for the examples, the benchmarks and the tests: the event benchmark
(`scenes.events`, examples/events/) and the synthetic shapes (`scenes.synth`,
examples/synthetic.mkv and the trainer's test data).

They sit beside the package, not in it: a user's pipeline (pickler, theanet, render,
evaluate) never runs them, so the installed package leaves them out. Scripts and tests import
them from a checkout (pytest and bench/ put the repository root on sys.path).
"""
