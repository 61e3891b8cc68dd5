"""Database building blocks shared by every area's models."""
