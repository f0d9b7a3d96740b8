"""``island-api seed``: demo data for the local stack, loaded once (a second run changes nothing).

Three islands (from the schema), six hosts with 36 vehicles between them, ten renters and an admin, past
completed bookings with reviews, and upcoming confirmed/pending bookings (the confirmed ones with a short
renter-host conversation). Every demo account's password is
``DEMO_PASSWORD``. Prices come from ``api.bookings.pricing`` so the snapshots match what the API computes.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.auth.passwords import hash_password
from api.bookings.pricing import DeliveryOption, VehicleRates, price
from api.db import Conn
from api.settings import Settings

DEMO_PASSWORD = "island-rides-demo"
SEED_LOCK = 7_340_001  # advisory lock id: two concurrent seeds do not both insert
HOSTS = [("Shanique Rolle", "nassau"), ("Dwayne Ferguson", "nassau"), ("Keisha Bethel", "freeport"),
         ("Marcus Knowles", "freeport"), ("Latoya Cartwright", "exuma"), ("Andre Moss", "exuma")]
RENTERS = ["Emma Clarke", "Liam Johnson", "Sofia Martinez", "Noah Williams", "Ava Thompson", "Ethan Brown",
           "Mia Davis", "Lucas Wilson", "Chloe Taylor", "Mason Anderson"]
# make, model, type, seats, transmission, fuel, drive side, daily rate (cents), features
MODELS = [
    ("Toyota", "Corolla", "sedan", 5, "automatic", "gasoline", "LHD", 6500, ["ac", "bluetooth"]),
    ("Honda", "Fit", "hatchback", 5, "automatic", "gasoline", "RHD", 4900, ["ac"]),
    ("Nissan", "Note", "compact", 5, "automatic", "gasoline", "RHD", 4500, ["ac", "usb"]),
    ("Suzuki", "Jimny", "jeep", 4, "manual", "gasoline", "RHD", 7900, ["4x4", "ac"]),
    ("Jeep", "Wrangler", "jeep", 5, "automatic", "gasoline", "LHD", 11900, ["4x4", "convertible_top", "ac"]),
    ("Kia", "Sportage", "suv", 5, "automatic", "gasoline", "LHD", 8900, ["ac", "bluetooth", "backup_camera"]),
    ("Hyundai", "Tucson", "suv", 5, "automatic", "hybrid", "LHD", 9400, ["ac", "bluetooth", "apple_carplay"]),
    ("Toyota", "Hiace", "van", 12, "manual", "diesel", "RHD", 14500, ["ac", "roof_rack"]),
    ("Honda", "CR-V", "suv", 5, "automatic", "gasoline", "LHD", 9900, ["ac", "bluetooth", "child_seat"]),
    ("Toyota", "Voxy", "minivan", 8, "automatic", "gasoline", "RHD", 10500, ["ac", "sliding_doors"]),
    ("Mazda", "Demio", "hatchback", 5, "automatic", "gasoline", "RHD", 4700, ["ac", "usb"]),
    ("Club Car", "Onward", "golf_cart", 4, "automatic", "electric", "LHD", 5500, ["beach_gear"]),
    ("Ford", "Ranger", "truck", 5, "automatic", "diesel", "LHD", 10900, ["4x4", "tow_hitch"]),
    ("Ford", "Mustang", "convertible", 4, "automatic", "gasoline", "LHD", 16500, ["convertible_top", "ac"]),
    ("Kia", "Picanto", "compact", 4, "manual", "gasoline", "LHD", 3900, ["ac"]),
    ("Tesla", "Model 3", "sedan", 5, "automatic", "electric", "LHD", 15900, ["ac", "autopilot", "apple_carplay"]),
]
SPOTS = {"nassau": ["Cable Beach", "Paradise Island bridge", "Lynden Pindling Intl Airport", "Downtown Bay St"],
         "freeport": ["Lucaya Marketplace", "Grand Bahama Intl Airport", "Port Lucaya"],
         "exuma": ["George Town", "Exuma Intl Airport", "Staniel Cay dock"]}
REVIEW_LINES = ["Spotless car, easy pickup.", "Great for the island roads.", "Host was very responsive.",
                "AC blew cold the whole week.", "Smooth handover at the airport.", "Would rent again."]


async def _user(conn: Conn, email: str, name: str, role: str, password_hash: str,
                premium: bool = False) -> int:
    cur = await conn.execute(
        "INSERT INTO users (email, password_hash, full_name, role, premium) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT ((lower(email))) DO UPDATE SET full_name = EXCLUDED.full_name RETURNING id",
        (email, password_hash, name, role, premium))
    row = await cur.fetchone()
    assert row is not None
    return row["id"]


async def _vehicle(conn: Conn, rng: random.Random, host_id: int, island: str) -> dict[str, Any]:
    make, model, vtype, seats, gearbox, fuel, side, rate, features = rng.choice(MODELS)
    year = rng.randint(2016, 2025)
    spot = rng.choice(SPOTS[island])
    cur = await conn.execute(
        """INSERT INTO vehicles (host_id, island_id, make, model, year, vehicle_type, seats, transmission, fuel,
               drive_side, daily_rate_cents, weekly_discount_pct, monthly_discount_pct, security_deposit_cents,
               delivery_fee_cents, airport_fee_cents, min_days, max_days, features, photo_urls, description,
               created_at)
           VALUES (%s, (SELECT id FROM islands WHERE slug = %s), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   %s, %s, %s, %s, %s, %s, %s, now() - make_interval(days => %s))
           RETURNING *""",
        (host_id, island, make, model, year, vtype, seats, gearbox, fuel, side, rate + rng.randint(-5, 5) * 100,
         rng.choice([0, 5, 10, 15]), rng.choice([0, 15, 20, 25]), rng.choice([10000, 20000, 30000, 50000]),
         rng.choice([0, 1500, 2500]), rng.choice([2000, 3500, 5000]), rng.choice([1, 1, 2, 3]), 30,
         sorted(set(features)), [f"https://img.islandrides.test/{make.lower()}-{model.lower()}-{year}.jpg"],
         f"{year} {make} {model}, pick up near {spot}.", rng.randint(1, 400)))
    row = await cur.fetchone()
    assert row is not None
    return row


async def _booking(conn: Conn, vehicle: dict[str, Any], renter_id: int, start: date,
                   nights: int, status: str, option: DeliveryOption) -> int:
    rates = VehicleRates(vehicle["daily_rate_cents"], vehicle["weekly_discount_pct"], vehicle["monthly_discount_pct"],
                         vehicle["delivery_fee_cents"], vehicle["airport_fee_cents"], vehicle["security_deposit_cents"])
    p = price(rates, nights, option)
    cur = await conn.execute(
        """INSERT INTO bookings (vehicle_id, renter_id, host_id, status, start_date, end_date, delivery, nights,
               daily_rate_cents, subtotal_cents, discount_pct, discount_cents, fees_cents, service_fee_cents,
               total_cents, security_deposit_cents, currency, payment_intent_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (vehicle["id"], renter_id, vehicle["host_id"], status, start, start + timedelta(days=nights), p.delivery,
         p.nights, p.daily_rate_cents, p.subtotal_cents, p.discount_pct, p.discount_cents, p.fees_cents,
         p.service_fee_cents, p.total_cents, p.security_deposit_cents, p.currency,
         None if status == "pending" else f"pi_seed_{vehicle['id']}_{start:%Y%m%d}"))
    row = await cur.fetchone()
    assert row is not None
    await conn.execute("INSERT INTO booking_events (booking_id, from_status, to_status, note) VALUES "
                       "(%s, NULL, %s, 'seed data')", (row["id"], status))
    return row["id"]


CHAT_LINES = [("renter", "Hi! Could I pick the car up around 10am?"),
              ("host", "Of course, I'll meet you there. Look for me by the entrance."),
              ("renter", "Perfect, thank you!")]


async def _conversation(conn: Conn, booking_id: int, renter_id: int, host_id: int) -> None:
    cur = await conn.execute("INSERT INTO conversations (booking_id, renter_id, host_id) VALUES (%s, %s, %s) "
                             "RETURNING id", (booking_id, renter_id, host_id))
    row = await cur.fetchone()
    assert row is not None
    for i, (who, body) in enumerate(CHAT_LINES):
        await conn.execute("INSERT INTO messages (conversation_id, sender_id, body, created_at) "
                           "VALUES (%s, %s, %s, now() - make_interval(mins => %s))",
                           (row["id"], renter_id if who == "renter" else host_id, body, 60 - i * 10))


async def _bookings_and_reviews(conn: Conn, rng: random.Random, vehicles: list[dict[str, Any]],
                                renters: list[int]) -> tuple[int, int]:
    today, bookings, reviews = date.today(), 0, 0
    for vehicle in vehicles:
        # two past stays (completed, most reviewed), then one or two upcoming ones, never overlapping
        start = today - timedelta(days=rng.randint(60, 120))
        plan = [("completed", rng.randint(2, 8)), ("completed", rng.randint(2, 5))]
        for status, nights in plan:
            renter = rng.choice(renters)
            booking_id = await _booking(conn, vehicle, renter, start, nights, status, rng.choice(list(DeliveryOption)))
            bookings += 1
            if rng.random() < 0.8:
                await conn.execute("INSERT INTO reviews (booking_id, vehicle_id, renter_id, rating, comment) "
                                   "VALUES (%s, %s, %s, %s, %s)",
                                   (booking_id, vehicle["id"], renter, rng.choice([3, 4, 4, 5, 5, 5]),
                                    rng.choice(REVIEW_LINES)))
                reviews += 1
            start += timedelta(days=nights + rng.randint(3, 20))
        start = today + timedelta(days=rng.randint(5, 40))
        for status in rng.sample(["confirmed", "pending", "confirmed"], k=rng.randint(1, 2)):
            nights = rng.randint(2, 9)
            renter = rng.choice(renters)
            booking_id = await _booking(conn, vehicle, renter, start, nights, status, DeliveryOption.PICKUP)
            if status == "confirmed":
                await _conversation(conn, booking_id, renter, vehicle["host_id"])
            bookings += 1
            start += timedelta(days=nights + rng.randint(2, 10))
    return bookings, reviews


async def seed(settings: Settings) -> dict[str, int]:
    """Load the demo data unless it is there already; returns what the database now holds."""
    password_hash = await hash_password(DEMO_PASSWORD, settings.argon2_time_cost, settings.argon2_memory_kib)
    rng = random.Random(2024)  # the same data on every machine
    async with await psycopg.AsyncConnection.connect(settings.database_url, row_factory=dict_row) as conn:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SEED_LOCK,))
            cur = await conn.execute("SELECT 1 FROM users WHERE lower(email) = 'admin@islandrides.bs'")
            if await cur.fetchone() is None:
                await _user(conn, "admin@islandrides.bs", "Island Rides Admin", "admin", password_hash)
                renters = [await _user(conn, f"renter{i + 1}@islandrides.bs", name, "renter", password_hash,
                                       premium=i < 2) for i, name in enumerate(RENTERS)]
                vehicles = []
                for i, (name, island) in enumerate(HOSTS):
                    host_id = await _user(conn, f"host{i + 1}@islandrides.bs", name, "host", password_hash)
                    vehicles += [await _vehicle(conn, rng, host_id, island) for _ in range(6)]
                await _bookings_and_reviews(conn, rng, vehicles, renters)
        await conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY vehicle_ratings")
        await conn.commit()
        counts = {}
        for table in ("islands", "users", "vehicles", "bookings", "reviews", "conversations", "messages"):
            cur = await conn.execute(f"SELECT count(*) AS n FROM {table}")
            row = await cur.fetchone()
            counts[table] = row["n"] if row else 0
    return counts
