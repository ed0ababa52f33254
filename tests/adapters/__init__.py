"""Adapter tests: fakes of the platform APIs and tests of the adapters against them."""
