"""What managers read of the cases: the case list, one case on its diagram, a process's statistics."""
