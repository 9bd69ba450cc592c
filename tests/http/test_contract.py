"""The HTTP contract around generation: auth, limits, CSRF, routes, the committed schema."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from main import create_app
from models import Generation
from schema.build import build_schema
from services.catalog import load_catalog
from settings import BASE_DIR
from tests.conftest import bearer, sample


def photo() -> bytes:
    return sample("portrait.jpg").read_bytes()


UPLOAD_MUTATION = "mutation($i: Upload!) { generateVideo(feature: AI_DANCE, image: $i) { id } }"


async def graphql_upload(client, data: bytes, headers: dict[str, str]):
    operations = {"query": UPLOAD_MUTATION, "variables": {"i": None}}
    return await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.i"]})},
        files={"0": ("p.jpg", data)},
        headers=headers,
    )


def test_committed_schema_matches_the_code():
    catalog = load_catalog(BASE_DIR / "features.toml")
    committed = (BASE_DIR / "schema.graphql").read_text(encoding="utf-8")
    assert committed == build_schema(catalog).as_str() + "\n", (
        "schema.graphql is stale: run `python main.py export-schema`"
    )


async def test_rest_without_a_token_is_401(client):
    response = await client.post("/api/ai-dance", files={"image": ("p.jpg", photo())})
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_rest_with_a_garbage_token_is_401(client):
    response = await client.post(
        "/api/ai-dance", files={"image": ("p.jpg", photo())}, headers=bearer("not.a.jwt")
    )
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_unknown_feature_route_is_404(client, user_token):
    response = await client.post(
        "/api/ai-moonwalk-on-mars", files={"image": ("p.jpg", photo())}, headers=bearer(user_token)
    )
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


async def test_missing_image_is_400(client, user_token):
    response = await client.post(
        "/api/ai-dance", data={"prompt": "no photo"}, headers=bearer(user_token)
    )
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "image"}


@pytest.fixture
def settings_overrides():
    return {"max_upload_bytes": 200_000}


async def test_upload_over_the_limit_is_413_on_rest(client, user_token):
    big = b"\xff\xd8" + b"\0" * 300_000
    response = await client.post(
        "/api/ai-dance", files={"image": ("big.jpg", big)}, headers=bearer(user_token)
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert await Generation.all().count() == 0


async def test_upload_over_the_limit_is_413_on_rest_without_content_length(client, user_token):
    big = b"\xff\xd8" + b"\0" * 2_000_000
    boundary = "limitboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()

    async def body():
        yield head
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/api/ai-dance",
        content=body(),
        headers={
            **bearer(user_token),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_upload_over_the_limit_is_an_error_on_graphql(client, user_token):
    big = b"\xff\xd8" + b"\0" * 300_000
    response = await graphql_upload(
        client, big, {**bearer(user_token), "Apollo-Require-Preflight": "true"}
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert error["extensions"]["details"] == {"max_bytes": 200_000}
    assert await Generation.all().count() == 0


async def test_graphql_multipart_without_preflight_header_is_refused(client, user_token):
    response = await graphql_upload(client, photo(), bearer(user_token))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "Apollo-Require-Preflight" in error["message"]
    assert await Generation.all().count() == 0


async def test_graphql_multipart_without_a_token_is_refused_before_reading(client):
    response = await graphql_upload(client, photo(), {"Apollo-Require-Preflight": "true"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_graphql_upload_scalar_must_be_a_file(client, user_token):
    query = 'mutation { generateVideo(feature: AI_DANCE, image: "just a string") { id } }'
    response = await client.post("/graphql", json={"query": query}, headers=bearer(user_token))
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_graphql_unknown_feature_is_a_validation_error(client, user_token):
    query = 'mutation { generateVideo(feature: AI_MOONWALK, image: "x") { id } }'
    response = await client.post("/graphql", json={"query": query}, headers=bearer(user_token))
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "AI_MOONWALK" in body["errors"][0]["message"]


async def test_features_query_lists_the_catalog(client):
    query = '{ features(category: "portrait") { key title category defaultPrompt } }'
    response = await client.post("/graphql", json={"query": query})
    features = response.json()["data"]["features"]
    assert {f["category"] for f in features} == {"portrait"}
    live = next(f for f in features if f["key"] == "ai-live-photo")
    assert live["defaultPrompt"].startswith("a still portrait animated")


async def test_respond_async_answers_202_and_the_row_finishes(client, user_token):
    response = await client.post(
        "/api/ai-dance",
        files={"image": ("p.jpg", photo())},
        headers={**bearer(user_token), "Prefer": "respond-async"},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] in {"queued", "running"}
    assert response.headers["Location"] == f"/api/generations/{body['id']}"
    for _ in range(200):
        status = await client.get(response.headers["Location"], headers=bearer(user_token))
        if status.json()["status"] == "succeeded":
            break
        await asyncio.sleep(0.1)
    finished = status.json()
    assert finished["status"] == "succeeded"
    assert finished["output"]["video"]["url"].startswith("http://testserver/media/videos/")


async def test_idempotency_key_never_starts_a_second_generation(client, user_token):
    headers = {**bearer(user_token), "Idempotency-Key": "retry-1"}
    first = await client.post("/api/ai-dance", files={"image": ("p.jpg", photo())}, headers=headers)
    second = await client.post(
        "/api/ai-dance", files={"image": ("p.jpg", photo())}, headers=headers
    )
    assert first.status_code == second.status_code == 200
    assert first.headers["X-Generation-Id"] == second.headers["X-Generation-Id"]
    assert first.json() == second.json()
    assert await Generation.all().count() == 1


async def test_someone_elses_generation_is_not_found(client, user_token, make_user):
    created = await client.post(
        "/api/ai-dance", files={"image": ("p.jpg", photo())}, headers=bearer(user_token)
    )
    await make_user("other@example.com")
    login = await client.post(
        "/auth/login", json={"email": "other@example.com", "password": "correct horse battery"}
    )
    other = login.json()["accessToken"]
    response = await client.get(
        f"/api/generations/{created.headers['X-Generation-Id']}", headers=bearer(other)
    )
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


async def test_media_names_are_not_guessable_and_traversal_is_refused(client):
    response = await client.get("/media/../settings.py")
    assert response.status_code == 404


def test_a_duplicate_catalog_key_stops_startup(tmp_path: Path, make_settings):
    catalog = tmp_path / "features.toml"
    entry = '[[feature]]\nkey = "ai-dance"\ntitle = "T"\ncategory = "c"\nprompt = "p"\n'
    catalog.write_text(entry + entry, encoding="utf-8")
    with pytest.raises(ValueError, match=r"duplicate key 'ai-dance'"):
        create_app(make_settings(features_file=catalog))


def test_a_malformed_catalog_key_stops_startup(tmp_path: Path, make_settings):
    catalog = tmp_path / "features.toml"
    catalog.write_text(
        '[[feature]]\nkey = "AI Dance!"\ntitle = "T"\ncategory = "c"\nprompt = "p"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"malformed key 'AI Dance!'"):
        create_app(make_settings(features_file=catalog))


async def test_features_file_replaces_the_catalog(tmp_path: Path, make_settings):
    catalog = tmp_path / "features.toml"
    catalog.write_text(
        '[[feature]]\nkey = "ai-3d-spin"\ntitle = "Spin"\ncategory = "motion"\nprompt = "spin"\n',
        encoding="utf-8",
    )
    app = create_app(make_settings(features_file=catalog))
    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.post("/graphql", json={"query": "{ features { key } }"})
            schema = await http.post(
                "/graphql", json={"query": '{ __type(name: "Feature") { enumValues { name } } }'}
            )
    assert response.json()["data"]["features"] == [{"key": "ai-3d-spin"}]
    assert schema.json()["data"]["__type"]["enumValues"] == [{"name": "AI_3D_SPIN"}]


async def test_cancel_stops_the_local_job(app, client, user_token):
    started = await client.post(
        "/api/ai-dance",
        files={"image": ("p.jpg", photo())},
        headers={**bearer(user_token), "Prefer": "respond-async"},
    )
    location = started.headers["Location"]
    for _ in range(100):  # cancel once the render is under way
        if (await client.get(location, headers=bearer(user_token))).json()["status"] == "running":
            break
        await asyncio.sleep(0.02)
    canceled = await client.delete(location, headers=bearer(user_token))
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    # The background job notices and ends (it must not keep polling a forgotten render).
    jobs = app.state.services.generations
    for _ in range(100):
        if not jobs._tasks:
            break
        await asyncio.sleep(0.05)
    assert not jobs._tasks
    again = await client.get(location, headers=bearer(user_token))
    assert again.json()["status"] == "canceled"
    assert again.json()["output"] is None
