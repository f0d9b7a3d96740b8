"""Booking e-mail: an outbox table filled inside the booking's transaction, drained by a worker over SMTP.

A booking never waits for (or fails because of) the mail server: ``outbox.enqueue_email`` only inserts a
row; ``worker.OutboxWorker`` (started in the API lifespan) claims due rows, renders them
(``templates``), sends them (``smtp``) and retries with backoff until ``max_attempts``.
"""
