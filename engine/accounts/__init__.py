"""Accounts: who may log in, how guessing is slowed down, and what a new password must be."""
