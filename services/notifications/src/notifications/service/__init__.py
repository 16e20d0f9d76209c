"""service layer of the notifications."""
