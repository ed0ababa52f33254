"""Digest: an opt-in private summary of what is new, and the monthly newsletter."""
