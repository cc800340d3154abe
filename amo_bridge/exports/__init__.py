"""Excel exports for finance: the ledger, payroll, plan vs fact and retention, written in constant
memory by a job, served by a short-lived signed link, every request audited."""
