"""Facilitator: a chat-bot that facilitates learning communities in Telegram and Slack."""

__version__ = "0.1.0"
