"""The features: one folder each, declared once and listed in `bootstrap.FEATURES`."""
