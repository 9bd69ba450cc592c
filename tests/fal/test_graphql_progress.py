"""generationUpdates over graphql-transport-ws (a real websocket to a real uvicorn), and
the generations connection."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import PASSWORD, bearer
from tests.fakes.fal_server import Script
from tests.fal.conftest import graphql_generate, serve

UPDATES = (
    "subscription($id: ID!) { generationUpdates(id: $id) { id status queuePosition logs "
    "video { url fileSize } } }"
)
PROTOCOL = "graphql-transport-ws"


async def receive(ws, timeout: float = 10.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return message


async def test_queue_positions_and_logs_surface_in_the_subscription(
    app, app_port, client, user_token, fal
):
    fal.script = Script(queue_positions=[2, 1, 0], logs=["loading model", "frame 1", "frame 2"])
    fal.paused = True  # hold fal's answers until the subscription is listening
    started = await graphql_generate(client, user_token, wait=False)
    generation_id = started.json()["data"]["generateVideo"]["id"]

    updates = []
    async with serve(app, app_port) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=[PROTOCOL]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": bearer(user_token)}))
            assert (await receive(ws))["type"] == "connection_ack"
            await ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": UPDATES, "variables": {"id": generation_id}},
                    }
                )
            )
            first = await receive(ws)
            assert first["type"] == "next", first
            updates.append(first["payload"]["data"]["generationUpdates"])
            fal.paused = False
            while True:
                message = await receive(ws)
                if message["type"] == "complete":
                    break
                assert message["type"] == "next", message
                assert "errors" not in message["payload"], message
                updates.append(message["payload"]["data"]["generationUpdates"])

    positions = [u["queuePosition"] for u in updates if u["status"] == "QUEUED"]
    assert [p for p in positions if p is not None] == [2, 1, 0]
    running_logs = [u["logs"] for u in updates if u["status"] == "RUNNING"]
    assert ["loading model"] in running_logs
    assert ["loading model", "frame 1", "frame 2"] in running_logs
    statuses = [u["status"] for u in updates]
    assert statuses.index("QUEUED") < statuses.index("RUNNING") < statuses.index("SUCCEEDED")
    final = updates[-1]
    assert final["status"] == "SUCCEEDED"
    assert final["video"]["fileSize"] == len(fal.video)
    assert final["video"]["url"].startswith("http://127.0.0.1:")  # a link, not ws://
    # Every update is a change: no two consecutive ones are identical.
    assert all(a != b for a, b in itertools.pairwise(updates))


@pytest.mark.parametrize("payload", [{}, {"authToken": "not-a-token"}])
async def test_the_subscription_needs_a_valid_token_in_connection_init(app, app_port, payload):
    async with serve(app, app_port) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=[PROTOCOL]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(ConnectionClosed) as closed:
                await receive(ws)
    assert closed.value.rcvd.code == 4403


async def test_auth_token_form_of_connection_init_and_foreign_generations(
    app, app_port, client, user_token, make_user, fal
):
    started = await graphql_generate(client, user_token, wait=True)
    generation_id = started.json()["data"]["generateVideo"]["id"]
    await make_user(email="other@example.com")
    login = await client.post(
        "/auth/login", json={"email": "other@example.com", "password": PASSWORD}
    )
    other = login.json()["accessToken"]
    async with serve(app, app_port) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=[PROTOCOL]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authToken": other}}))
            assert (await receive(ws))["type"] == "connection_ack"
            subscribe = {"query": UPDATES, "variables": {"id": generation_id}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
            message = await receive(ws)
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


LIST = (
    "query($first: Int, $after: String, $userId: ID) { generations(first: $first, "
    "after: $after, userId: $userId) { edges { cursor node { id status } } "
    "pageInfo { hasNextPage endCursor } } }"
)


async def graphql(client, token, query, **variables):
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
    )
    return response.json()


async def test_generations_connection_pages_newest_first(client, user_token, make_user, fal):
    ids = []
    for _ in range(3):
        response = await graphql_generate(client, user_token, wait=False)
        ids.append(response.json()["data"]["generateVideo"]["id"])
    page = (await graphql(client, user_token, LIST, first=2))["data"]["generations"]
    assert [edge["node"]["id"] for edge in page["edges"]] == ids[::-1][:2]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await graphql(client, user_token, LIST, first=2, after=page["pageInfo"]["endCursor"])
    rest_page = rest["data"]["generations"]
    assert [edge["node"]["id"] for edge in rest_page["edges"]] == [ids[0]]
    assert rest_page["pageInfo"]["hasNextPage"] is False

    await make_user(email="nosy@example.com")
    await make_user(email="admin@example.com", role="admin")
    tokens = {}
    for email in ("nosy@example.com", "admin@example.com"):
        login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        tokens[email] = login.json()["accessToken"]
    own = await graphql(client, tokens["nosy@example.com"], LIST, first=10)
    assert own["data"]["generations"]["edges"] == []
    owner_id = (await graphql(client, user_token, "{ me { id } }"))["data"]["me"]["id"]
    nosy = await graphql(client, tokens["nosy@example.com"], LIST, first=10, userId=owner_id)
    assert nosy["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = await graphql(client, tokens["admin@example.com"], LIST, first=10, userId=owner_id)
    assert len(admin["data"]["generations"]["edges"]) == 3
    bad = await graphql(client, user_token, LIST, first=2, after="bm9wZQ")
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
