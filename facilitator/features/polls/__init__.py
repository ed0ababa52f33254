"""Polls: created with `/poll`, voted natively on Telegram and with buttons elsewhere."""
