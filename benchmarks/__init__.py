"""Benchmarks of hybrid_rec (``make bench``): alternatives side by side in one process."""
