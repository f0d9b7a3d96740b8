"""Vehicles: the host's listings and the public search over them."""
