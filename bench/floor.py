"""Arms F: the floor of a local create, an aiohttp handler doing its transaction on the raw driver.

The same schema, data and durability as the bridge's local engine (E arms), and nothing else:
no auth, no validation beyond reading the body, no idempotency, no metrics or logging.
The transaction: debit the points (conditional UPDATE), take the stock (conditional UPDATE),
the order row, its points-ledger entry and its fulfilment-email outbox row.

- `--engine sqlite`: stdlib sqlite3, WAL, synchronous=FULL, one writer thread that
  group-commits what arrives together (each create in a savepoint), as the bridge does.
- `--engine pg`: an asyncpg pool; the whole transaction is one statement (a data-modifying
  CTE), one round trip, atomic on its own.

Run: python bench/floor.py --engine sqlite --database /path/E.db --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web
from bridge.runtime.collector import settle_after_start

APP = "demo"
Create = tuple[str, int, int, str]
"""(customer, offer id, quantity, now as text)."""

SQLITE_STATEMENTS = (
    "UPDATE points_accounts SET balance = balance - :price * :quantity"
    " WHERE app = :app AND customer_id = :customer AND balance >= :price * :quantity"
    " RETURNING balance",
    "UPDATE offers SET inventory = CASE WHEN inventory IS NULL THEN NULL"
    " ELSE inventory - :quantity END WHERE app = :app AND id = :offer AND active"
    " AND (inventory IS NULL OR inventory >= :quantity)",
    "INSERT INTO orders (app, customer_id, offer_id, quantity, points, status, target, name,"
    " offer_type, created_at, updated_at) VALUES (:app, :customer, :offer, :quantity,"
    " :price * :quantity, 'approved', 'local', 'Electronic Giftcard', 'reward', :now, :now)"
    " RETURNING id",
    "INSERT INTO points_ledger (app, customer_id, order_id, kind, points, balance_after,"
    " created_at) VALUES (:app, :customer, :order_id, 'order_debit', -:price * :quantity,"
    " :balance, :now)",
    "INSERT INTO outbox (app, order_id, kind, status, attempts, next_attempt_at, created_at)"
    " VALUES (:app, :order_id, 'fulfilment_email', 'pending', 0, :now, :now)",
)
PRICE = 100

PG_CREATE = """
WITH debit AS (
  UPDATE points_accounts SET balance = balance - $2::bigint * $3::bigint
  WHERE app = $1 AND customer_id = $4 AND balance >= $2::bigint * $3::bigint RETURNING balance
), stock AS (
  UPDATE offers
  SET inventory = CASE WHEN inventory IS NULL THEN NULL ELSE inventory - $3::bigint END
  WHERE app = $1 AND id = $5 AND active AND (inventory IS NULL OR inventory >= $3::bigint)
    AND EXISTS (SELECT 1 FROM debit)
  RETURNING id
), placed AS (
  INSERT INTO orders (app, customer_id, offer_id, quantity, points, status, target, name,
                      offer_type, created_at, updated_at)
  SELECT $1::text, $4::text, $5::bigint, $3::bigint, $2::bigint * $3::bigint, 'approved',
         'local', 'Electronic Giftcard', 'reward', $6, $6
  FROM stock RETURNING id
), entry AS (
  INSERT INTO points_ledger (app, customer_id, order_id, kind, points, balance_after, created_at)
  SELECT $1, $4, placed.id, 'order_debit', -$2::bigint * $3::bigint, debit.balance, $6
  FROM placed, debit
), mail AS (
  INSERT INTO outbox (app, order_id, kind, status, attempts, next_attempt_at, created_at)
  SELECT $1, placed.id, 'fulfilment_email', 'pending', 0, $6, $6 FROM placed
)
SELECT placed.id, debit.balance,
       CASE WHEN placed.id IS NULL THEN ('offer_not_available ' || debit.balance)::bigint END
FROM debit LEFT JOIN placed ON true
"""
"""No debit: no row, nothing changed. A debit without stock must not stand: the CASE fails
the cast, which aborts the statement (and so the debit) as a whole."""


class SqliteFloor:
    """One writer thread, group commit, each create in its own savepoint."""

    def __init__(self, path: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Create, asyncio.Future[Any], Any]] = queue.SimpleQueue()
        self._path = path
        threading.Thread(target=self._run, daemon=True).start()

    def submit(self, create: Create) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((create, future, loop))
        return future

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        while True:
            batch = [self._jobs.get()]
            while len(batch) < 64:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            conn.execute("BEGIN IMMEDIATE")
            outcomes = [_savepoint(conn, create) for create, _, _ in batch]
            conn.execute("COMMIT")
            for (_, future, loop), outcome in zip(batch, outcomes, strict=True):
                loop.call_soon_threadsafe(_settle, future, outcome)


def _savepoint(conn: sqlite3.Connection, create: Create) -> tuple[bool, Any]:
    customer, offer, quantity, now = create
    conn.execute("SAVEPOINT c")
    try:
        debit, stock, order, entry, mail = SQLITE_STATEMENTS
        args: dict[str, Any] = {
            "app": APP,
            "price": PRICE,
            "quantity": quantity,
            "customer": customer,
            "offer": offer,
            "now": now,
        }
        row = conn.execute(debit, args).fetchone()
        if row is None or conn.execute(stock, args).rowcount != 1:
            raise LookupError("offer_not_available")
        (args["order_id"],) = conn.execute(order, args).fetchone()
        args["balance"] = row[0]
        conn.execute(entry, args)
        conn.execute(mail, args)
        conn.execute("RELEASE c")
        return True, args["order_id"]
    except Exception as exc:
        conn.execute("ROLLBACK TO c")
        conn.execute("RELEASE c")
        return False, exc


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def sqlite_create(path: str) -> Callable[[Create], Any]:
    floor = SqliteFloor(path)
    return floor.submit


POOL = web.AppKey("pool", asyncpg.Pool)


async def pg_create(pool: asyncpg.Pool, create: Create) -> int:
    customer, offer, quantity, now = create
    at = datetime.fromisoformat(now)
    async with pool.acquire() as conn:
        try:
            row = await conn.fetchrow(PG_CREATE, APP, PRICE, quantity, customer, offer, at)
        except asyncpg.InvalidTextRepresentationError as exc:
            raise LookupError("offer_not_available") from exc
    if row is None:
        raise LookupError("offer_not_available")
    return int(row["id"])


def build(engine: str, database: str) -> web.Application:
    app = web.Application()
    run: Callable[[Create], Any]
    if engine == "sqlite":
        run = sqlite_create(database)
    else:

        async def pool(app: web.Application) -> AsyncIterator[None]:
            app[POOL] = await asyncpg.create_pool(database, min_size=4, max_size=10)
            yield
            await app[POOL].close()

        app.cleanup_ctx.append(pool)

        def run(create: Create) -> Any:
            return pg_create(app[POOL], create)

    async def settled(_app: web.Application) -> None:  # the bridge's collector settings
        settle_after_start()

    app.on_startup.append(settled)

    async def handle(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        quantity = int(body["order"].get("quantity", 1))
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if engine != "sqlite":
            now = datetime.now(UTC).isoformat()
        create = (request.match_info["user"], int(request.match_info["offer"]), quantity, now)
        try:
            order_id = await run(create)
        except LookupError:
            return web.json_response(
                {"status": "error", "errors": {"code": "offer_not_available", "message": ""}}
            )
        return web.json_response({"status": "ok", "order": {"id": order_id}})

    app.router.add_post("/priv/v1/apps/{key}/users/{user}/offers/{offer}/orders", handle)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "pg"], required=True)
    parser.add_argument("--database", required=True, help="a file (sqlite) or a DSN (pg)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build(args.engine, args.database), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
