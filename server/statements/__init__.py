"""Period closes, partner statements (data, PDF, batches) and payouts' source figures."""
