"""Bonus programs: versions composed from rule templates, published effective-dated."""
