-- Core schema: tickets, their articles and attachments, the messages that made them,
-- threading references and the notification outbox. Times are Unix milliseconds (UTC).

CREATE TABLE ticket_counters (
    period      TEXT PRIMARY KEY,          -- YYMM
    last_value  BIGINT NOT NULL
);

CREATE TABLE tickets (
    id                  BIGSERIAL PRIMARY KEY,
    number              TEXT NOT NULL UNIQUE,
    title               TEXT NOT NULL,
    description         TEXT NOT NULL,
    ticket_type         TEXT NOT NULL,
    category            TEXT,
    impact              TEXT NOT NULL,
    urgency             TEXT NOT NULL,
    priority            TEXT NOT NULL,
    status              TEXT NOT NULL,
    requester           TEXT NOT NULL,
    requester_name      TEXT,
    organisation        TEXT,
    private             BIGINT NOT NULL DEFAULT 0,
    customer_reference  TEXT,
    language            TEXT NOT NULL,
    assignee            TEXT,
    follow_up_of        BIGINT REFERENCES tickets(id),
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    resolved_at         BIGINT,
    closed_at           BIGINT
);
CREATE INDEX tickets_status ON tickets(status, updated_at);
CREATE INDEX tickets_requester ON tickets(requester);
CREATE INDEX tickets_organisation ON tickets(organisation);

CREATE TABLE observers (
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    email       TEXT NOT NULL,               -- lower-cased key
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, email)
);

CREATE TABLE articles (
    id          BIGSERIAL PRIMARY KEY,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    author      TEXT NOT NULL,
    author_name TEXT,
    direction   TEXT NOT NULL,               -- inbound | outbound | system
    visibility  TEXT NOT NULL,               -- public | internal
    subject     TEXT NOT NULL,
    body_text   TEXT NOT NULL,
    body_html   TEXT,                         -- as received: sanitize before showing
    message_id  TEXT,
    raw_ref     TEXT,                         -- path of the kept raw message, under data_dir
    note        TEXT,                         -- why ticketgate did something unusual with it
    created_at  BIGINT NOT NULL
);
CREATE INDEX articles_ticket ON articles(ticket_id, id);

CREATE TABLE attachments (
    id              BIGSERIAL PRIMARY KEY,
    article_id      BIGINT NOT NULL REFERENCES articles(id),
    filename        TEXT NOT NULL,           -- sanitized
    content_type    TEXT NOT NULL,
    size            BIGINT NOT NULL,
    sha256          TEXT,                     -- NULL when the file was refused
    content_id      TEXT,
    inline          BIGINT NOT NULL DEFAULT 0,
    refused_reason  TEXT
);
CREATE INDEX attachments_article ON attachments(article_id);

-- One row per distinct inbound message; the unique key makes a second delivery a duplicate.
CREATE TABLE messages (
    id              BIGSERIAL PRIMARY KEY,
    message_id      TEXT NOT NULL,           -- '' when the mail had none
    content_digest  TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    ticket_id       BIGINT REFERENCES tickets(id),
    article_id      BIGINT REFERENCES articles(id),
    source          TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    UNIQUE (message_id, content_digest)
);

-- Message-IDs that thread a reply to a ticket: customers' mails and our notifications.
CREATE TABLE thread_refs (
    message_id  TEXT NOT NULL,
    ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
    created_at  BIGINT NOT NULL
);
CREATE INDEX thread_refs_message_id ON thread_refs(message_id);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    ticket_id       BIGINT NOT NULL REFERENCES tickets(id),
    article_id      BIGINT REFERENCES articles(id),
    event           TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
