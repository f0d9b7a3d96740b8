"""Property-based run over the OpenAPI schema against a real uvicorn process: no input may cause a 5xx.

Every operation gets a bounded number of generated requests (valid and invalid), sent anonymously, as a
renter and as a host, with deterministic generation so a failure reproduces. WebSocket routes are not
in the OpenAPI schema and are covered by their own tests.
"""
from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES_PER_OPERATION = 8


@pytest.fixture
def settings_overrides(localstripe_url, smtp):
    return {"stripe_api_base": localstripe_url, "smtp_url": smtp.url}


def _token(base_url: str, role: str) -> dict[str, str]:
    import uuid

    email = f"fuzz-{role}-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=base_url, timeout=10) as c:
        c.post("/v1/auth/register", json={"email": email, "password": "fuzz-password-1", "full_name": "Fuzz",
                                          "role": role}).raise_for_status()
        tokens = c.post("/v1/auth/login", json={"email": email, "password": "fuzz-password-1"}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _fuzz(operation, mode: GenerationMode, base_url: str, headers: dict[str, str], failures: list[str],
          statuses: list[int]) -> None:
    @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=15)
        statuses.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:200]}"
                            f"\n    {case.as_curl_command()}")

    try:
        run()
    except Unsatisfiable:  # negative data is impossible for an operation without inputs (e.g. GET /livez)
        if mode is not GenerationMode.NEGATIVE:
            raise


def test_no_input_causes_a_server_error(live_api):
    with live_api() as api:
        schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
        identities = {"anonymous": {}, "renter": _token(api.url, "renter"), "host": _token(api.url, "host")}
        failures: list[str] = []
        statuses: list[int] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:
            for name, headers in identities.items():
                mode = GenerationMode.NEGATIVE if name == "anonymous" else GenerationMode.POSITIVE
                _fuzz(operation, mode, api.url, headers, failures, statuses)
    # the run really exercised the API: many requests, both accepted and refused ones
    assert len(statuses) >= 8 * len(operations)
    assert any(s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
    assert not failures, "server errors:\n" + "\n".join(failures[:20])
