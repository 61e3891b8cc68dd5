"""Partners, their regions and regional terms, and their attribution codes."""
