"""Learning a brain (theanet.py's work): RBM and DBN layers, the training loop, its settings,
checkpoints and reporting, the PyTensor backend, and the brain file with numpy inference."""
