"""Matchmaking: monthly, opt-in introductions across the network's communities."""
