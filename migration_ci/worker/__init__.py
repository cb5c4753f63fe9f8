"""Runs inside the user's Django project, in a process of its own; never imported by the tool."""
