"""Proactive delivery: the durable outbox, its dispatcher and the codec of stored messages."""
