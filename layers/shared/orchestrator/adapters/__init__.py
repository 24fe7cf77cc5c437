"""Adapters: one per outside system, each implementing a port."""
