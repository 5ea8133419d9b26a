-- +goose Up
-- A lockout says whom it locks out, so that an admin can find and lift it:
-- its scope (an address for every client, or one client of an address),
-- the keyed hash of the address (to find an address's lockouts without
-- storing it), who it is for, sealed with the server secret (the address
-- and the client's IP), and when it began. A lockout made before has
-- the address scope, and its key is its address's hash.
ALTER TABLE lockouts ADD COLUMN scope TEXT NOT NULL DEFAULT 'address';
ALTER TABLE lockouts ADD COLUMN address_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE lockouts ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE lockouts ADD COLUMN locked_at INTEGER NOT NULL DEFAULT 0;
UPDATE lockouts SET address_hash = key_hash;
CREATE INDEX lockouts_address ON lockouts (tenant_id, address_hash);
