"""Reports: members flag a message to the moderators, privately and at a limited pace."""
