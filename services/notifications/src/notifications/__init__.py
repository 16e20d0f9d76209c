"""Notifications service: SMS to families and signed webhooks to partner agencies."""
