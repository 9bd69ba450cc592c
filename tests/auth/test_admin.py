"""Roles and administration: admin-only GraphQL, immediate effect, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from models import User
from settings import BASE_DIR
from tests.auth.conftest import error_code, gql, me_status, rest_login
from tests.conftest import PASSWORD

USERS = """query($first: Int, $after: String) {
  users(first: $first, after: $after) {
    edges { cursor node { email role isActive } }
    pageInfo { hasNextPage endCursor }
  }
}"""
SET_ROLE = (
    "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { email role } }"
)
DISABLE = "mutation($id: ID!) { disableUser(userId: $id) { isActive } }"
ENABLE = "mutation($id: ID!) { enableUser(userId: $id) { isActive } }"


async def admin_login(client, make_user) -> dict[str, Any]:
    await make_user("admin@example.com", role="admin")
    return await rest_login(client, "admin@example.com")


async def test_users_is_a_cursor_connection(client, make_user):
    admin = await admin_login(client, make_user)
    for n in range(5):
        await make_user(f"u{n}@example.com")
    seen, after, pages = [], None, 0
    while True:
        response = await gql(
            client, USERS, {"first": 2, "after": after}, token=admin["accessToken"]
        )
        data = response.json()["data"]["users"]
        seen += [edge["node"]["email"] for edge in data["edges"]]
        pages += 1
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
        assert after == data["edges"][-1]["cursor"]
    assert seen == sorted(seen) and len(seen) == 6 and pages == 3
    bad = await gql(client, USERS, {"first": 2, "after": "garbage"}, token=admin["accessToken"])
    assert error_code(bad) == "VALIDATION_FAILED"
    too_many = await gql(client, USERS, {"first": 1000}, token=admin["accessToken"])
    assert error_code(too_many) == "VALIDATION_FAILED"


async def test_admin_operations_are_forbidden_to_users_and_need_a_token(client, user, make_user):
    login = await rest_login(client)
    for query, variables in [
        (USERS, {}),
        (SET_ROLE, {"id": user.id, "role": "ADMIN"}),
        (DISABLE, {"id": user.id}),
    ]:
        assert (
            error_code(await gql(client, query, variables, token=login["accessToken"]))
            == "FORBIDDEN"
        )
        assert error_code(await gql(client, query, variables)) == "UNAUTHENTICATED"


async def test_a_role_change_takes_effect_on_the_next_request(client, user, make_user):
    admin = await admin_login(client, make_user)
    login = await rest_login(client)
    promoted = await gql(
        client, SET_ROLE, {"id": user.id, "role": "ADMIN"}, token=admin["accessToken"]
    )
    assert promoted.json()["data"]["setUserRole"] == {"email": "user@example.com", "role": "ADMIN"}
    # the same access token (role claim "user") now passes: roles come from the user row
    assert error_code(await gql(client, USERS, token=login["accessToken"])) is None
    await gql(client, SET_ROLE, {"id": user.id, "role": "USER"}, token=admin["accessToken"])
    assert error_code(await gql(client, USERS, token=login["accessToken"])) == "FORBIDDEN"


async def test_admins_cannot_lock_themselves_out(client, make_user):
    admin = await admin_login(client, make_user)
    me = (await gql(client, "{ me { id } }", token=admin["accessToken"])).json()["data"]["me"]
    assert (
        error_code(await gql(client, DISABLE, {"id": me["id"]}, token=admin["accessToken"]))
        == "VALIDATION_FAILED"
    )
    demote = await gql(
        client, SET_ROLE, {"id": me["id"], "role": "USER"}, token=admin["accessToken"]
    )
    assert error_code(demote) == "VALIDATION_FAILED"
    missing = await gql(
        client, DISABLE, {"id": "00000000-0000-0000-0000-000000000000"}, token=admin["accessToken"]
    )
    assert error_code(missing) == "NOT_FOUND"


async def test_enable_user_lets_them_log_in_again(client, user, make_user):
    admin = await admin_login(client, make_user)
    await gql(client, DISABLE, {"id": user.id}, token=admin["accessToken"])
    assert (
        await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    ).status_code == 401
    await gql(client, ENABLE, {"id": user.id}, token=admin["accessToken"])
    await rest_login(client)


def cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": settings.effective_database_url,
        "JWT_SECRET": settings.jwt_secret,
        "JWT_REFRESH_SECRET": settings.jwt_refresh_secret,
        "FAL_KEY": "",
        "SENDGRID_API_KEY": "",
        "REDIS_URL": "",
    }
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_create_user_set_role_disable_user(client, settings):
    created = cli(settings, "create-user", "--email", "ops@example.com", "--password", PASSWORD)
    assert created.returncode == 0, created.stderr
    login = await rest_login(client, "ops@example.com")
    assert error_code(await gql(client, USERS, token=login["accessToken"])) == "FORBIDDEN"
    promoted = cli(settings, "set-role", "--email", "ops@example.com", "--role", "admin")
    assert promoted.returncode == 0, promoted.stderr
    assert error_code(await gql(client, USERS, token=login["accessToken"])) is None
    disabled = cli(settings, "disable-user", "--email", "ops@example.com")
    assert disabled.returncode == 0, disabled.stderr
    assert await me_status(client, login["accessToken"]) == (200, "UNAUTHENTICATED")
    assert not (await User.get(email="ops@example.com")).is_active
    unknown = cli(settings, "disable-user", "--email", "ghost@example.com")
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr
