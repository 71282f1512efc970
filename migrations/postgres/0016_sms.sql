-- SMS beside mail: a contact's phone number (E.164, `+33612345678`) and whether the events
-- they receive also go to it as short texts, through the [sms] gateway.
ALTER TABLE contacts ADD COLUMN phone TEXT;
ALTER TABLE contacts ADD COLUMN sms BIGINT NOT NULL DEFAULT 0;
