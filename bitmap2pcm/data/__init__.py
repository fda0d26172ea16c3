"""Training data: a video becomes frames.pkl + audio.pkl (dataset, pickler.py's work),
loading and splitting them (trainset), the held-out part (holdout), history inputs, and the synthetic sets."""
