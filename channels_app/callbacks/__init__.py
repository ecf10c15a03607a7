"""Provider status callbacks: /hooks/providers/<provider>/<callback token>/ receives
(verify, store, acknowledge: receiving.py) and a worker applies the stored reports
(processing.py, through channels_app.reports). Each provider's handler is in its folder
under channels_app/integrations/ (integrations/callbacks.py has their registry)."""
