-- One row into the message log, as accept_message writes it (every NOT NULL column).
-- pgbench -n -f bench/pgbench_message_insert.sql -D "account_id='acct_…'" …
-- The id is time-ordered like oneping's (microsecond clock, client id, random tail), so
-- inserts land on the right edge of the primary key as they do in production.
\set tail random(0, 68719476735)
INSERT INTO channels_app_message
    (id, account_id, recipient, subject, body, channels, fallback_channels, metadata,
     channel_options, callback_url, retry, is_channel_test, status, created_at)
VALUES
    ('msg_' || lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000000)::bigint), 14, '0')
            || lpad(:client_id::text, 3, '0') || lpad(to_hex(:tail), 9, '0'),
     :account_id, 'bench', 'pgbench', 'pgbench insert', '["slack", "discord"]', '[]', '{}',
     '{}', '', true, false, 'queued', now());
