"""Synthetic data generators: the contract in ``base``, sanity baselines in ``baselines``."""
