-- Island Rides: the complete base schema. Money is integer cents everywhere.
-- Later migrations: 00xx_/01xx_ api core, 02xx_ bookings/payments, 03xx_ chat/email.
-- depends:

CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL,
    password_hash   text NOT NULL,
    full_name       text NOT NULL,
    phone           text,
    role            text NOT NULL CHECK (role IN ('renter', 'host', 'admin')),
    premium         boolean NOT NULL DEFAULT false,
    failed_logins   integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Refresh tokens are stored as SHA-256 of the opaque token. Each login starts a family; every refresh
-- rotates (the old row gets rotated_at + replaced_by). Presenting a rotated token revokes the family.
CREATE TABLE refresh_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id    uuid NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    replaced_by  bigint REFERENCES refresh_tokens(id) ON DELETE SET NULL,
    revoked_at   timestamptz,
    user_agent   text
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE islands (
    id        smallint PRIMARY KEY,
    slug      text NOT NULL UNIQUE,
    name      text NOT NULL,
    timezone  text NOT NULL DEFAULT 'America/Nassau'
);
INSERT INTO islands (id, slug, name) VALUES
    (1, 'nassau', 'Nassau (New Providence)'),
    (2, 'freeport', 'Freeport (Grand Bahama)'),
    (3, 'exuma', 'Exuma');

CREATE TABLE vehicles (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id                 bigint NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
    island_id               smallint NOT NULL REFERENCES islands(id),
    make                    text NOT NULL,
    model                   text NOT NULL,
    year                    smallint NOT NULL CHECK (year BETWEEN 1950 AND 2100),
    vehicle_type            text NOT NULL CHECK (vehicle_type IN
                                ('sedan', 'suv', 'jeep', 'van', 'truck', 'convertible', 'compact', 'scooter',
                                 'golf_cart', 'minivan', 'coupe', 'hatchback')),
    seats                   smallint NOT NULL CHECK (seats BETWEEN 1 AND 15),
    transmission            text NOT NULL CHECK (transmission IN ('automatic', 'manual')),
    fuel                    text NOT NULL CHECK (fuel IN ('gasoline', 'diesel', 'hybrid', 'electric')),
    drive_side              text NOT NULL CHECK (drive_side IN ('LHD', 'RHD')),
    daily_rate_cents        integer NOT NULL CHECK (daily_rate_cents > 0),
    weekly_discount_pct     smallint NOT NULL DEFAULT 0 CHECK (weekly_discount_pct BETWEEN 0 AND 90),
    monthly_discount_pct    smallint NOT NULL DEFAULT 0 CHECK (monthly_discount_pct BETWEEN 0 AND 90),
    security_deposit_cents  integer NOT NULL DEFAULT 0 CHECK (security_deposit_cents >= 0),
    delivery_fee_cents      integer NOT NULL DEFAULT 0 CHECK (delivery_fee_cents >= 0),
    airport_fee_cents       integer NOT NULL DEFAULT 0 CHECK (airport_fee_cents >= 0),
    min_days                smallint NOT NULL DEFAULT 1 CHECK (min_days >= 1),
    max_days                smallint NOT NULL DEFAULT 30 CHECK (max_days >= 1),
    features                text[] NOT NULL DEFAULT '{}',
    photo_urls              text[] NOT NULL DEFAULT '{}',
    description             text NOT NULL DEFAULT '',
    listed                  boolean NOT NULL DEFAULT true,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (min_days <= max_days)
);
CREATE INDEX vehicles_host_idx ON vehicles (host_id);
CREATE INDEX vehicles_search_idx ON vehicles (island_id, daily_rate_cents, id) WHERE listed;
CREATE INDEX vehicles_newest_idx ON vehicles (created_at DESC, id DESC) WHERE listed;
CREATE INDEX vehicles_features_idx ON vehicles USING gin (features);

CREATE TABLE bookings (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vehicle_id              bigint NOT NULL REFERENCES vehicles(id) ON DELETE RESTRICT,
    renter_id               bigint NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
    host_id                 bigint NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
    status                  text NOT NULL DEFAULT 'pending' CHECK (status IN
                                ('pending', 'confirmed', 'active', 'completed', 'declined', 'expired',
                                 'cancelled')),
    start_date              date NOT NULL,
    end_date                date NOT NULL,
    -- [start_date, end_date): the return day is free for the next renter.
    period                  daterange GENERATED ALWAYS AS (daterange(start_date, end_date, '[)')) STORED,
    delivery                text NOT NULL DEFAULT 'pickup' CHECK (delivery IN ('pickup', 'delivery', 'airport')),
    -- price snapshot, computed by the server at booking time
    nights                  integer NOT NULL CHECK (nights >= 1),
    daily_rate_cents        integer NOT NULL CHECK (daily_rate_cents > 0),
    subtotal_cents          integer NOT NULL CHECK (subtotal_cents >= 0),
    discount_pct            smallint NOT NULL DEFAULT 0,
    discount_cents          integer NOT NULL DEFAULT 0 CHECK (discount_cents >= 0),
    fees_cents              integer NOT NULL DEFAULT 0 CHECK (fees_cents >= 0),
    service_fee_cents       integer NOT NULL DEFAULT 0 CHECK (service_fee_cents >= 0),
    total_cents             integer NOT NULL CHECK (total_cents >= 0),
    security_deposit_cents  integer NOT NULL DEFAULT 0,
    currency                text NOT NULL DEFAULT 'usd',
    payment_intent_id       text UNIQUE,
    payment_status          text,
    cancelled_at            timestamptz,
    cancelled_by            text CHECK (cancelled_by IN ('renter', 'host', 'admin', 'system')),
    cancellation_reason     text,
    refund_pct              smallint,
    refund_cents            integer CHECK (refund_cents >= 0),
    refund_id               text,
    expires_at              timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (end_date > start_date),
    -- The database itself refuses two live bookings of one vehicle with overlapping dates.
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (vehicle_id WITH =, period WITH &&)
        WHERE (status NOT IN ('cancelled', 'declined', 'expired'))
);
CREATE INDEX bookings_renter_idx ON bookings (renter_id, created_at DESC);
CREATE INDEX bookings_host_idx ON bookings (host_id, created_at DESC);
CREATE INDEX bookings_vehicle_period_idx ON bookings USING gist (vehicle_id, period)
    WHERE status NOT IN ('cancelled', 'declined', 'expired');
CREATE INDEX bookings_pending_expiry_idx ON bookings (expires_at) WHERE status = 'pending';

CREATE TABLE booking_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id   bigint NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,
    from_status  text,
    to_status    text NOT NULL,
    actor_id     bigint REFERENCES users(id) ON DELETE SET NULL,
    actor_role   text,
    note         text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX booking_events_booking_idx ON booking_events (booking_id, id);

CREATE TABLE payments (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id          bigint NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,
    kind                text NOT NULL CHECK (kind IN ('charge', 'refund')),
    provider_id         text NOT NULL UNIQUE,  -- PaymentIntent or Refund id
    amount_cents        integer NOT NULL CHECK (amount_cents >= 0),
    currency            text NOT NULL DEFAULT 'usd',
    status              text NOT NULL,
    idempotency_key     text UNIQUE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_booking_idx ON payments (booking_id);

-- Webhook idempotency: a Stripe event id is processed once.
CREATE TABLE webhook_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      text NOT NULL UNIQUE,
    event_type    text NOT NULL,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz
);

CREATE TABLE reviews (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id   bigint NOT NULL UNIQUE REFERENCES bookings(id) ON DELETE CASCADE,
    vehicle_id   bigint NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
    renter_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    rating       smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_vehicle_idx ON reviews (vehicle_id, created_at DESC);

-- Read by search and vehicle pages; refreshed CONCURRENTLY (needs the unique index) so reads never block.
CREATE MATERIALIZED VIEW vehicle_ratings AS
    SELECT vehicle_id,
           count(*)::integer AS review_count,
           round(avg(rating)::numeric, 2) AS rating_avg
    FROM reviews
    GROUP BY vehicle_id;
CREATE UNIQUE INDEX vehicle_ratings_vehicle_key ON vehicle_ratings (vehicle_id);

CREATE TABLE conversations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id  bigint NOT NULL UNIQUE REFERENCES bookings(id) ON DELETE CASCADE,
    renter_id   bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    host_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE messages (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id  bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender_id        bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body             text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, id DESC);

CREATE TABLE email_outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL,
    to_address       text NOT NULL,
    subject          text NOT NULL,
    body_text        text NOT NULL,
    body_html        text,
    booking_id       bigint REFERENCES bookings(id) ON DELETE SET NULL,
    dedupe_key       text UNIQUE,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX email_outbox_due_idx ON email_outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
