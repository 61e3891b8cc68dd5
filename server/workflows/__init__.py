"""Onboarding and campaign workflows: definitions as data, instances per case."""
