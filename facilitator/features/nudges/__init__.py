"""Nudges: welcome, newcomer follow-up, re-engagement and unanswered questions, with guards."""
