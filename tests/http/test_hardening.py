"""Hostile and malformed input: every answer is a coded error, nothing is half-written,
and no request can make the server spend unbounded time or memory."""

from __future__ import annotations

import asyncio
import json

import pytest

from models import Generation
from tests.conftest import bearer, sample

PHOTO = sample("portrait.jpg").read_bytes()


def fragment_bomb(levels: int, leaf: str = "__typename") -> str:
    """Each fragment spreads the next twice: 2**levels fields if expanded naively."""
    spreads = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {spreads} fragment F{levels} on Query {{ {leaf} }}"


async def test_a_fragment_bomb_is_answered_without_expanding_it(client):
    response = await client.post("/graphql", json={"query": fragment_bomb(40)})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_fragment_bomb_is_measured_by_arithmetic_not_expansion(client):
    # 2**40 aliases: only a count that measures each fragment once can report it.
    response = await client.post("/graphql", json={"query": fragment_bomb(40, "a: __typename")})
    error = response.json()["errors"][0]
    assert error["message"] == f"the query has {2**40} aliases; at most 30"


async def test_aliases_are_counted_through_fragments(client):
    aliases = " ".join(f"a{i}: __typename" for i in range(16))
    query = (
        f"query {{ ...A }} fragment A on Query {{ ...B ...B }} fragment B on Query {{ {aliases} }}"
    )
    response = await client.post("/graphql", json={"query": query})
    error = response.json()["errors"][0]
    assert error["message"] == "the query has 32 aliases; at most 30"
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_huge_json_body_is_413_before_parsing(client):
    query = "{ __typename }" + " " * 300_000
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("42", "application/json"),
        ("null", "application/json"),
        ("[" * 50_000 + "]" * 50_000, "application/json"),
        ("not json", "application/json"),
    ],
)
async def test_malformed_graphql_bodies_are_coded_400s(client, content, content_type):
    response = await client.post(
        "/graphql", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_multipart_map_that_is_not_an_object_is_a_coded_400(client, user_token):
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps({"query": "{ __typename }"}), "map": "[1]"},
        files={"0": ("p.jpg", PHOTO)},
        headers={**bearer(user_token), "Apollo-Require-Preflight": "1"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_syntax_and_variable_errors_carry_a_code(client, user_token):
    broken = await client.post("/graphql", json={"query": "{ features { key "})
    coerced = await client.post(
        "/graphql",
        json={
            "query": "query($f: Int!) { generations(first: $f) { pageInfo { hasNextPage } } }",
            "variables": {"f": "5"},
        },
        headers=bearer(user_token),
    )
    for response in (broken, coerced):
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "cannot represent non-integer value" in coerced.json()["errors"][0]["message"]


async def test_deeply_nested_json_on_rest_is_422(client):
    response = await client.post(
        "/auth/login",
        content="[" * 100_000 + "]" * 100_000,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_FAILED"


async def test_a_token_without_a_scheme_is_refused(client, user_token):
    response = await client.get(
        "/api/generations/00000000-0000-0000-0000-000000000000",
        headers={"Authorization": user_token},
    )
    assert response.status_code == 401


@pytest.mark.parametrize("prompt", ["a\x7fb", "c1\x85control", "nul\x00"])
async def test_prompts_with_control_characters_are_422(client, user_token, prompt):
    operations = {
        "query": "mutation($i: Upload!, $p: String) { generateVideo(feature: AI_DANCE, "
        "image: $i, prompt: $p, wait: false) { id } }",
        "variables": {"i": None, "p": prompt},
    }
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.i"]})},
        files={"0": ("p.jpg", PHOTO)},
        headers={**bearer(user_token), "Apollo-Require-Preflight": "1"},
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["details"] == {"field": "prompt"}
    assert await Generation.all().count() == 0


async def test_a_multiline_prompt_from_a_browser_form_is_accepted(app, client, user_token):
    response = await client.post(
        "/api/ai-dance",
        files={"image": ("p.jpg", PHOTO)},
        data={"prompt": "line one\r\nline two"},
        headers={**bearer(user_token), "Prefer": "respond-async"},
    )
    assert response.status_code == 202
    assert (await Generation.get(id=response.json()["id"])).prompt == "line one\nline two"


@pytest.fixture
def settings_overrides():
    return {"max_generations_in_flight": 3}


async def test_the_in_flight_limit_holds_under_concurrent_requests(app, client, user_token):
    async def start():
        return await client.post(
            "/api/ai-dance",
            files={"image": ("p.jpg", PHOTO)},
            headers={**bearer(user_token), "Prefer": "respond-async"},
        )

    responses = await asyncio.gather(*(start() for _ in range(10)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] * 3 + [429] * 7
    assert all(r.headers["Retry-After"] for r in responses if r.status_code == 429)
    assert await Generation.all().count() == 3
    inputs = app.state.services.storage.root / "inputs"
    assert len(list(inputs.iterdir())) == 3  # refused requests left no photo behind


async def test_one_idempotency_key_under_concurrent_retries_keeps_one_photo(
    app, client, user_token
):
    headers = {**bearer(user_token), "Idempotency-Key": "same", "Prefer": "respond-async"}

    async def start():
        return await client.post(
            "/api/ai-dance", files={"image": ("p.jpg", PHOTO)}, headers=headers
        )

    responses = await asyncio.gather(*(start() for _ in range(3)))
    assert {r.json()["id"] for r in responses} == {responses[0].json()["id"]}
    assert await Generation.all().count() == 1
    assert len(list((app.state.services.storage.root / "inputs").iterdir())) == 1


async def test_an_idempotency_key_reused_for_another_request_is_422(client, user_token):
    headers = {**bearer(user_token), "Idempotency-Key": "k1", "Prefer": "respond-async"}
    first = await client.post("/api/ai-dance", files={"image": ("p.jpg", PHOTO)}, headers=headers)
    other = await client.post("/api/ai-smile", files={"image": ("p.jpg", PHOTO)}, headers=headers)
    assert first.status_code == 202
    assert other.status_code == 422
    assert other.json()["details"] == {"field": "idempotency_key", "id": first.json()["id"]}


async def test_generations_first_must_be_positive(client, user_token):
    query = "{ generations(first: 0) { pageInfo { hasNextPage endCursor } } }"
    response = await client.post("/graphql", json={"query": query}, headers=bearer(user_token))
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_the_webhook_route_is_closed_without_fal(client):
    response = await client.post("/webhooks/fal", content=b"{}")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (
            'mutation($e: String!) { login(email: $e, password: "x") { accessToken } }',
            {"e": "a\ud800@example.com"},
        ),
        ("mutation($e: String!) { sendOtp(email: $e) { message } }", {"e": "\udfff@x.io"}),
        ("query($c: String) { features(category: $c) { key } }", {"c": "x\ud800"}),
    ],
)
async def test_lone_surrogates_in_graphql_variables_are_400(client, query, variables):
    body = json.dumps({"query": query, "variables": variables})  # escaped: \\ud800
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
