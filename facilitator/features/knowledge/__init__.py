"""Knowledge repository: items, lookup, ingestion and evaluation."""
