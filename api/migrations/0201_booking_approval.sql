-- Bookings: the host's approval of a pending booking, and an index for the date sweeper.
-- depends: 0001_schema

ALTER TABLE bookings ADD COLUMN approved_at timestamptz;

-- The sweeper looks for confirmed bookings whose start has come and active ones whose end has come.
CREATE INDEX bookings_sweep_idx ON bookings (status, start_date, end_date)
    WHERE status IN ('confirmed', 'active');
