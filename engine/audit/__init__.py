"""The tamper-evident audit trail: a hash chain per case, daily anchors, and their verification.

Every audit event carries the SHA-256 of its predecessor in its chain (one chain per case, one
for events that belong to no case), written in the same transaction as the command that
recorded it (`chain`). Closed days are anchored by a hash over the heads of every chain that
day (`days`). `verify` checks all of it and whatever other record kinds register a verifier.
"""
