"""Participation: scores, levels, badges, recognition, privacy and the weekly summary."""
