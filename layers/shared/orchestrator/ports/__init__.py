"""Ports: the small interfaces the domain and use cases need from the outside world."""
