"""Running afterflow: schema status, process leases, command records, backups and health facts."""
