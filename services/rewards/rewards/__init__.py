"""EnvGrid rewards: rewards for verified public reports, approvals, budgets, the ledger and payouts."""
