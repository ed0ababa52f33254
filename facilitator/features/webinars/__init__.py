"""Webinars: announcement with RSVPs, reminders, check-in, feedback poll and recording."""
