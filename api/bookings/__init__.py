"""Bookings: server-side pricing, the status machine, the refund policy, SQL and the expiry sweeper."""
