"""The documents the seeds require on paper, printed as PDF from a case's data and kept as issued."""
