"""Unit tests of server/campaigns/."""
