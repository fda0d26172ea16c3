"""The brains shipped in brains/: which they are and how each is made (catalog), retraining
them through the public scripts (retrain), and their cards (cards)."""
