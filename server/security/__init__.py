"""Roles, permissions, portal users and API keys."""
