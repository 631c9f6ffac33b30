"""What task pages show of a case, per process: facts, decisions, look-up tables."""
