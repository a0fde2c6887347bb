-- Resellers' API keys and the documents each may run (API.md, Who is calling; Persisted operations).

CREATE TABLE api_keys (
  id                integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name              text NOT NULL,
  -- The reseller that owns the key; one reseller may hold several keys (one per integration, rotated).
  reseller          text NOT NULL,
  -- SHA-256 of the key: the key itself is shown once, at its creation, and never stored.
  key_hash          bytea NOT NULL UNIQUE,
  reads_per_minute  integer NOT NULL CHECK (reads_per_minute > 0),
  writes_per_minute integer NOT NULL CHECK (writes_per_minute > 0),
  created_at        timestamptz NOT NULL DEFAULT now(),
  revoked_at        timestamptz
);

-- Trusted documents: a request with a key runs only the documents registered for that key.
CREATE TABLE persisted_operations (
  api_key_id    integer NOT NULL REFERENCES api_keys ON DELETE CASCADE,
  -- SHA-256 of the document's text, lowercase hex (the APQ and persisted-documents hash).
  hash          text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  name          text,
  document      text NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (api_key_id, hash)
);
