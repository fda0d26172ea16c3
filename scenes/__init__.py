"""Scene generators for the examples, the benchmarks and the tests: the event benchmark
(`scenes.events`, examples/events/), a second kind of event scene for scoring brains on
scenes unlike their training (`scenes.bounce`: objects raining into a box, dense and
overlapping, over a drifting textured backdrop) and the synthetic shapes (`scenes.synth`,
examples/synthetic.mkv and the trainer's test data).

They sit beside the package, not in it: a user's pipeline (pickler, theanet, render,
evaluate) never runs them, so the installed package leaves them out. Scripts and tests import
them from a checkout (pytest and bench/ put the repository root on sys.path).
"""
