"""service layer of the relief."""
