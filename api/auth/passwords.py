"""Password hashing with argon2id (argon2-cffi), run off the event loop because it is CPU-bound by design."""
from __future__ import annotations

from functools import lru_cache

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Verified against when the e-mail is unknown, so a login takes as long whether or not the account exists.
_DUMMY_PASSWORD = "not-a-real-password-used-for-timing"


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    return _hasher(time_cost, memory_kib).hash(_DUMMY_PASSWORD)


async def hash_password(password: str, time_cost: int, memory_kib: int) -> str:
    """An argon2id hash of ``password`` (computed in a worker thread)."""
    return await anyio.to_thread.run_sync(_hasher(time_cost, memory_kib).hash, password)


def _verify(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str, time_cost: int, memory_kib: int) -> bool:
    """True when ``password`` matches; with ``stored_hash`` None, spends the same time and returns False."""
    hasher = _hasher(time_cost, memory_kib)
    if stored_hash is None:
        await anyio.to_thread.run_sync(_verify, hasher, _dummy_hash(time_cost, memory_kib), password)
        return False
    return await anyio.to_thread.run_sync(_verify, hasher, stored_hash, password)
