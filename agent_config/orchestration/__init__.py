"""Deciding which tools to call and calling them concurrently under one deadline."""
