"""Partnerflow: a self-hosted server for hybrid (online + offline) partner programs."""
