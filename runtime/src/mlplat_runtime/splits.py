"""Hash-based split assignment: each row's split is a function of its key and a salt.

Used by a project's split stage. Vectorised (pandas' SipHash over the keys as text), so a
million keys take a fraction of a second.
"""

from __future__ import annotations

__all__ = ["assign", "assign_stratified"]

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd


def _buckets(keys: Iterable[object], salt: str) -> np.ndarray:
    """Each key's place in [0, 1): a salted 64-bit hash of its text, vectorised.

    pandas' SipHash over the keys as text (``hash_pandas_object`` with a 16-byte key derived from
    the salt): deterministic across runs and machines, and a million keys hash in a fraction of a
    second where ``hashlib`` row by row took seconds.
    """
    hash_key = hashlib.sha256(salt.encode()).hexdigest()[:16]
    if isinstance(keys, pd.Series) and keys.dtype != object and pd.api.types.is_string_dtype(keys):
        # Text already (a contract without a key hashes each row to text): the same hashes
        # without a round trip through a million Python strings.
        text = keys.reset_index(drop=True)
    else:
        raw = keys.to_numpy() if isinstance(keys, pd.Series) else list(keys)
        text = pd.Series(raw).astype(str)
    hashed = pd.util.hash_pandas_object(text, index=False, hash_key=hash_key)
    return hashed.to_numpy().astype("float64") / 2.0**64


def assign(keys: Iterable[object], *, test_fraction: float, salt: str) -> np.ndarray:
    """Boolean mask: ``True`` where the key belongs to the test split."""
    return _buckets(keys, salt) < test_fraction


def assign_stratified(
    keys: Iterable[object], labels: np.ndarray, *, test_fraction: float, salt: str
) -> np.ndarray:
    """Test mask with each class's share exact: per class, its lowest-hashed keys go to test.

    ``round(n_class * test_fraction)`` rows of each class (at least one when the class has two
    or more). A row keeps its split while its class's rows stay the same; rows added to a class
    can move the rows at that class's boundary, which the plain hash split never does: that is
    the price of exact shares, so it is a config choice (``split.stratify``).
    """
    buckets = _buckets(keys, salt)
    labels = np.asarray(labels)
    mask = np.zeros(len(buckets), dtype=bool)
    for label in pd.unique(labels):
        rows = np.flatnonzero(labels == label)
        size = int(round(len(rows) * test_fraction))
        if len(rows) >= 2:
            size = min(max(size, 1), len(rows) - 1)
        chosen = rows[np.argsort(buckets[rows], kind="stable")[:size]]
        mask[chosen] = True
    return mask
