"""Training data: a video becomes frames.pkl + audio.pkl (dataset, pickler.py's work),
loading and splitting them (trainset), the held-out part (holdout) and the input layouts.
The scene generators of the examples and benchmarks live beside the package, in scenes/."""
