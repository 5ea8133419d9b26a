-- +goose Up
-- A console session begun by an administrator signing in through the
-- hosted pages names the user (key_check is then ''); one begun with the
-- admin key has user_id ''.
ALTER TABLE console_sessions ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
