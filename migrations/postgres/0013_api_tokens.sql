-- Bearer tokens of the JSON API. Only a SHA-256 of each token is kept: the token itself is
-- shown once, when it is made. A revoked token keeps its row (its name stays in the logs'
-- history) and a new token may take its name.
CREATE TABLE api_tokens (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    scope         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens(name) WHERE revoked_at IS NULL;
