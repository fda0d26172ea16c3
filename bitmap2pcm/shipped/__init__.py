"""The shipped brains (package data in bitmap2pcm/brains/, linked from the checkout's brains/):
which they are and how each is made (catalog), retraining them through the public scripts
(retrain), and their cards (cards)."""
