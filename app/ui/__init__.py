"""Widgets and views."""
