"""Demo data: regions A/B/C, ~30 partners in chains, a published program, six months of events."""
