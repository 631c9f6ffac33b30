"""Notifications: events become rows of one outbox in the command's transaction, then are delivered.

``collect`` writes the rows (``install`` hooks it into a session factory), ``preferences`` says who
wants what where and when, ``delivery`` sends with retries on the channels of ``mail``, ``robots``
and ``gateway``; in-app notifications are read where they are stored (``inbox``).
"""
