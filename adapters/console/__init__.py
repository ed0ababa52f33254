"""Console adapter: talk to the bot in a terminal, as any member of the demo community."""
