"""The customers' self-service: requests submitted on /portal, their progress, the satisfaction card."""
