"""Channels a notification is delivered to besides the in-app inbox.

Each provider is a small adapter behind one interface (:mod:`.base`); an
adapter is off until its environment variables configure it.
"""
