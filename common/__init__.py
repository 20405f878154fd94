"""The ground floor shared by every layer: language and tokenising helpers, the error root.

Nothing here imports from ``retrieval``, ``agent`` or the app; they all import from here.
"""
