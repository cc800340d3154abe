"""Reports computed in SQL over the money lines and policies: plan vs fact, payroll, retention,
client history. Each takes a session, an account id and a :class:`ReportFilter` and returns
plain dataclasses; the widget API, the Excel exports and the CLI render them."""
