"""Payment provider simulator: batch submit, query, statements, signed asynchronous callbacks."""
