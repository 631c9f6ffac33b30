"""Accounts: users and the roles they hold, who may log in, how guessing is slowed down, what a password must be."""
