-- The tickets still to be worked on (neither resolved nor closed), most recently updated
-- first: what a desk's dashboard asks for all day (`GET /api/v1/tickets?status=open`).
-- On a large database most tickets are closed; this keeps the page from walking them.
CREATE INDEX tickets_open ON tickets (updated_at, id) WHERE status NOT IN ('resolved', 'closed');
