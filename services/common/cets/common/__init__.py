"""Pieces shared by every cets service."""
