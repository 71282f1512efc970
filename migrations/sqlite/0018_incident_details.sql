-- What a customer tells of their incident besides its text, as the portals ask it (seeds
-- 001 to 003): read from the `Label: value` lines of the mail that opens a ticket.
-- customer_reference has been there since 0001.
ALTER TABLE tickets ADD COLUMN service_reference TEXT;
ALTER TABLE tickets ADD COLUMN impacted_users BIGINT;
-- Milliseconds since the epoch, UTC, like every time here.
ALTER TABLE tickets ADD COLUMN incident_started_at BIGINT;
ALTER TABLE tickets ADD COLUMN onsite_contact TEXT;
ALTER TABLE tickets ADD COLUMN onsite_phone TEXT;
ALTER TABLE tickets ADD COLUMN onsite_availability TEXT;
