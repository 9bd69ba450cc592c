"""Clipforge: the app factory (FastAPI + /graphql + the REST shim) and the command line.

uvicorn main:app                      # the ASGI app
python main.py serve                  # the same, with --host/--port
python main.py create-user --email E --password P [--role admin]
python main.py set-role --email E --role admin|user
python main.py disable-user --email E [--enable]
python main.py generate --feature ai-dance --image photo.jpg --out video.mp4
python main.py export-schema          # writes schema.graphql
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.staticfiles import StaticFiles
from tortoise.contrib.fastapi import RegisterTortoise

from models import Role
from rest import auth as rest_auth
from rest import generations as rest_generations
from rest import webhooks as rest_webhooks
from rest.errors import app_error, install_error_handlers
from rest.limits import BodyLimitMiddleware
from schema.build import build_schema
from schema.errors import graphql_error_response
from schema.router import graphql_router
from services.catalog import CatalogError, load_catalog
from services.container import build_services
from services.database import DatabaseUnavailableError, apply_migrations, ping, tortoise_config
from services.errors import AppError
from services.storage import MEDIA_ROUTE
from settings import BASE_DIR, Settings, SettingsError

log = logging.getLogger("clipforge")
T = TypeVar("T")

GRAPHQL_PATH = "/graphql"
FORM_OVERHEAD_BYTES = 1024 * 1024
MAX_OTHER_BODY_BYTES = 256 * 1024  # JSON and form bodies: queries, logins, webhooks


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).prepare()
    catalog = load_catalog(settings.features_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await apply_migrations(settings)
        async with RegisterTortoise(app, config=tortoise_config(settings)):
            try:
                await ping()
            except OSError as error:
                raise DatabaseUnavailableError(f"cannot reach the database: {error}") from error
            services = build_services(settings, catalog)
            app.state.services = services
            resumed = await services.generations.resume_unfinished()
            if resumed:
                log.info("resuming %d unfinished generations", resumed)
            services.generations.start_sweeper()
            try:
                yield
            finally:
                await services.aclose()

    app = FastAPI(
        title="Clipforge",
        summary="Turn a photo and a prompt into a short video.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_exception_handler(AppError, _app_error)
    app.add_middleware(
        BodyLimitMiddleware,
        max_upload_bytes=settings.max_upload_bytes,
        form_overhead_bytes=FORM_OVERHEAD_BYTES,
        max_other_bytes=MAX_OTHER_BODY_BYTES,
    )
    schema = build_schema(catalog, introspection=settings.introspection)
    app.include_router(graphql_router(schema, graphiql=settings.graphiql), prefix=GRAPHQL_PATH)
    app.include_router(rest_auth.router)
    app.include_router(rest_generations.router)
    app.include_router(rest_webhooks.router)
    media = StaticFiles(directory=settings.effective_media_dir, check_dir=False)
    app.mount(MEDIA_ROUTE, media, name="media")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        await ping()
        return {"status": "ok"}

    return app


async def _app_error(request: Request, error: Exception) -> JSONResponse:
    """GraphQL callers get GraphQL-shaped errors, REST callers the REST body."""
    if request.url.path.startswith(GRAPHQL_PATH):
        assert isinstance(error, AppError)
        return graphql_error_response(error)
    return await app_error(request, error)


# --------------------------------------------------------------------- command line


def _cli_settings() -> Settings:
    return Settings().prepare()


async def _with_app(settings: Settings, work: Callable[[FastAPI], Awaitable[T]]) -> T:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        return await work(app)


def _create_user(args: argparse.Namespace) -> int:
    from resolvers.auth import create_user

    async def work(app: FastAPI) -> None:
        user = await create_user(app.state.services, args.email, args.password, Role(args.role))
        print(f"created {user.role} {user.email} ({user.id})")

    asyncio.run(_with_app(_cli_settings(), work))
    return 0


def _set_role(args: argparse.Namespace) -> int:
    from resolvers.admin import set_role_by_email

    async def work(app: FastAPI) -> None:
        user = await set_role_by_email(args.email, Role(args.role))
        print(f"{user.email} is now {user.role}")

    asyncio.run(_with_app(_cli_settings(), work))
    return 0


def _disable_user(args: argparse.Namespace) -> int:
    from resolvers.admin import disable_by_email, enable_by_email

    async def work(app: FastAPI) -> None:
        if args.enable:
            user = await enable_by_email(args.email)
            print(f"enabled {user.email}")
        else:
            user = await disable_by_email(app.state.services, args.email)
            print(f"disabled {user.email}; its sessions were revoked")

    asyncio.run(_with_app(_cli_settings(), work))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from resolvers.cli import generate_to_file

    async def work(app: FastAPI) -> Path:
        return await generate_to_file(
            app.state.services,
            feature_key=args.feature,
            image=Path(args.image),
            prompt=args.prompt,
            out=Path(args.out) if args.out else None,
        )

    out = asyncio.run(_with_app(_cli_settings(), work))
    print(f"wrote {out}")
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    settings = Settings()
    schema = build_schema(load_catalog(settings.features_file))
    Path(args.out).write_text(schema.as_str() + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    level = Settings().log_level.lower()
    uvicorn.run("main:app", host=args.host, port=args.port, log_level=level)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="Clipforge")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)
    create = commands.add_parser("create-user", help="create an account")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.USER.value)
    create.set_defaults(run=_create_user)
    set_role = commands.add_parser("set-role", help="give an account a role")
    set_role.add_argument("--email", required=True)
    set_role.add_argument("--role", choices=[r.value for r in Role], required=True)
    set_role.set_defaults(run=_set_role)
    disable = commands.add_parser(
        "disable-user", help="disable an account (its tokens stop working at once)"
    )
    disable.add_argument("--email", required=True)
    disable.add_argument("--enable", action="store_true", help="enable it again instead")
    disable.set_defaults(run=_disable_user)
    generate = commands.add_parser("generate", help="make a video from a photo, in-process")
    generate.add_argument("--feature", required=True)
    generate.add_argument("--image", required=True)
    generate.add_argument("--prompt")
    generate.add_argument("--out")
    generate.set_defaults(run=_generate)
    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("--out", default=str(BASE_DIR / "schema.graphql"))
    export.set_defaults(run=_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        level = logging.getLevelName(Settings().log_level.upper())
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        code: int = args.run(args)
    except (SettingsError, CatalogError, DatabaseUnavailableError, ValidationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except AppError as error:
        print(f"error: {error.code.value}: {error.message}", file=sys.stderr)
        return 1
    return code


def __getattr__(name: str) -> FastAPI:
    # `uvicorn main:app` builds the app on first access, so importing main has no effects.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)


if __name__ == "__main__":
    sys.exit(main())
