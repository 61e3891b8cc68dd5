"""Campaigns: seasonal promotions, joint offline events, promo-code pushes."""
