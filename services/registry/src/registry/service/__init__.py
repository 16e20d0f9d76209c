"""service layer of the registry."""
