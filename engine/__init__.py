"""afterflow's orchestration core: definitions, runtime commands, persistence. Never imports Flask."""
