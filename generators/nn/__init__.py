"""Building blocks every neural generator shares: preprocessing, layers, losses and the training loop."""
