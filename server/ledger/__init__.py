"""Sales events and the append-only accrual ledger."""
