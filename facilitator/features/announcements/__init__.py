"""Announcements: moderators post to their community (coordinators to several), on time."""
