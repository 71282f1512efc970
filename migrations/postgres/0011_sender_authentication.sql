-- Whether the sender of an article received by mail was authenticated, where a policy
-- asked ([authentication]): 1 authenticated, 0 not (the article is marked unverified),
-- NULL not checked (written here, or no policy asked). `sender_check` says what decided.
ALTER TABLE articles ADD COLUMN sender_verified BIGINT;
ALTER TABLE articles ADD COLUMN sender_check TEXT;
