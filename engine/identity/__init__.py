"""Who may act: users, the roles they hold, their passwords and preferences."""
