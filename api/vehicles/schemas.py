"""Request and response models for vehicles. Money is integer cents; percentages are whole numbers."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints

from api.validation import ApiModel

Island = Literal["nassau", "freeport", "exuma"]
VehicleType = Literal["sedan", "suv", "jeep", "van", "truck", "convertible", "compact", "scooter", "golf_cart",
                      "minivan", "coupe", "hatchback"]
Transmission = Literal["automatic", "manual"]
Fuel = Literal["gasoline", "diesel", "hybrid", "electric"]
DriveSide = Literal["LHD", "RHD"]
SortOrder = Literal["newest", "price_asc", "price_desc", "rating"]
Feature = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,39}$")]
Cents = Annotated[int, Field(ge=0, le=100_000_000)]
Pct = Annotated[int, Field(ge=0, le=90)]
MAX_YEAR = date.today().year + 1


class VehicleFields(ApiModel):
    """Every field a host sets on a vehicle (all optional: the base of the PATCH body)."""

    island: Island | None = None
    make: Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)] | None = None
    model: Annotated[str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)] | None = None
    year: Annotated[int, Field(ge=1950, le=MAX_YEAR)] | None = None
    vehicle_type: VehicleType | None = None
    seats: Annotated[int, Field(ge=1, le=15)] | None = None
    transmission: Transmission | None = None
    fuel: Fuel | None = None
    drive_side: DriveSide | None = None
    daily_rate_cents: Annotated[int, Field(ge=100, le=10_000_000)] | None = None
    weekly_discount_pct: Pct | None = None
    monthly_discount_pct: Pct | None = None
    security_deposit_cents: Cents | None = None
    delivery_fee_cents: Cents | None = None
    airport_fee_cents: Cents | None = None
    min_days: Annotated[int, Field(ge=1, le=365)] | None = None
    max_days: Annotated[int, Field(ge=1, le=365)] | None = None
    features: Annotated[list[Feature], Field(max_length=30)] | None = None
    photo_urls: Annotated[list[AnyHttpUrl], Field(max_length=20)] | None = None
    description: Annotated[str, Field(max_length=4000)] | None = None
    listed: bool | None = None


class VehicleCreate(VehicleFields):
    """POST /v1/vehicles: the required fields, with defaults for the rest."""

    island: Island
    make: Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]
    model: Annotated[str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)]
    year: Annotated[int, Field(ge=1950, le=MAX_YEAR)]
    vehicle_type: VehicleType
    seats: Annotated[int, Field(ge=1, le=15)]
    transmission: Transmission
    fuel: Fuel
    drive_side: DriveSide
    daily_rate_cents: Annotated[int, Field(ge=100, le=10_000_000)]
    weekly_discount_pct: Pct = 0
    monthly_discount_pct: Pct = 0
    security_deposit_cents: Cents = 0
    delivery_fee_cents: Cents = 0
    airport_fee_cents: Cents = 0
    min_days: Annotated[int, Field(ge=1, le=365)] = 1
    max_days: Annotated[int, Field(ge=1, le=365)] = 30
    features: Annotated[list[Feature], Field(max_length=30, default_factory=list)]
    photo_urls: Annotated[list[AnyHttpUrl], Field(max_length=20, default_factory=list)]
    description: Annotated[str, Field(max_length=4000)] = ""
    listed: bool = True


class Rating(BaseModel):
    count: int
    average: float | None


class VehicleOut(BaseModel):
    id: int
    host_id: int
    island: Island
    island_name: str
    make: str
    model: str
    year: int
    vehicle_type: VehicleType
    seats: int
    transmission: Transmission
    fuel: Fuel
    drive_side: DriveSide
    daily_rate_cents: int
    weekly_discount_pct: int
    monthly_discount_pct: int
    security_deposit_cents: int
    delivery_fee_cents: int
    airport_fee_cents: int
    min_days: int
    max_days: int
    features: list[str]
    photo_urls: list[str]
    description: str
    listed: bool
    rating: Rating
    created_at: datetime
    updated_at: datetime


class VehiclePage(BaseModel):
    items: list[VehicleOut]
    next_cursor: str | None
    limit: int
