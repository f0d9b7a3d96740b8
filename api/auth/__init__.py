"""Authentication: password hashing, access and refresh tokens, and the request dependencies."""
