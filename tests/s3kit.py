"""A throw-away bucket on the S3-compatible server of the tests marked ``s3``.

``scripts/start-s3.sh`` starts the server (moto) and prints its endpoint, which the
tests read from ``BARYON_TEST_S3_URL``; without it they are skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

#: The test server takes any credentials; these name the test in its logs only.
ACCESS_KEY = "baryon-test-key"
SECRET_KEY = "baryon-test-secret-0123456789"
REGION = "eu-west-1"


def s3_endpoint() -> str:
    """The test server's endpoint URL (skips the test when there is none)."""
    endpoint = os.environ.get("BARYON_TEST_S3_URL")
    if not endpoint:
        pytest.skip("BARYON_TEST_S3_URL not set: no S3-compatible server to test against")
    return endpoint


def s3_options(endpoint: str, **more: Any) -> dict[str, Any]:
    """fsspec storage options of the test server (s3fs keyword arguments)."""
    return {
        "endpoint_url": endpoint,
        "key": ACCESS_KEY,
        "secret": SECRET_KEY,
        "client_kwargs": {"region_name": REGION},
        **more,
    }


@contextmanager
def fresh_bucket() -> Iterator[tuple[str, dict[str, Any]]]:
    """Create an empty bucket of its own, remove it and its objects after.

    Yields ``(bucket, storage_options)``.
    """
    import s3fs

    options = s3_options(s3_endpoint())
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    bucket = f"baryon-test-{secrets.token_hex(6)}"
    fs.mkdir(bucket)
    try:
        yield bucket, options
    finally:
        if fs.exists(bucket):  # a test may have removed it (a bucket gone missing)
            fs.rm(bucket, recursive=True)
