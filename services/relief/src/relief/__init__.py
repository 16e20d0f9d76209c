"""Relief service: care fund ledger, emergency relief, disbursement and reconciliation."""
