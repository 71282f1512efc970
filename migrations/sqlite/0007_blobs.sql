-- Attachments and raw mail kept in the database ([storage] backend = "database"), so that
-- every instance sharing the database reads what any of them wrote. One row per content:
-- kind 'attachment' is keyed by the hex SHA-256 of its bytes; kind 'raw' by the article's
-- raw_ref, its bytes gzip-compressed. size is the content's size before compression.
CREATE TABLE blobs (
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    bytes       BLOB NOT NULL,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (kind, key)
);
