"""Demo data: users per role, business records, and cases run through the real processes."""
