"""Business records that outlive a case (customers, products, contracts, sales ledger) and their import."""
