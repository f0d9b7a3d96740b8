-- Bookings: a client's Idempotency-Key on POST /v1/bookings, unique per renter, so a retried request
-- (lost response, double submit) gets the booking it already created instead of a 409 against itself.
-- depends: 0201_booking_approval

ALTER TABLE bookings ADD COLUMN idempotency_key text;

CREATE UNIQUE INDEX bookings_renter_idempotency_key ON bookings (renter_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
