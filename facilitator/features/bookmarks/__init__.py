"""Bookmarks: members keep repository items for later, listed to them privately."""
