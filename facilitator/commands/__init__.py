"""Commands: declared once, parsed in the core, projected onto every platform."""
