"""The queue (antrian): counters, online bookings, walk-in tickets and the call-next rules.

A tenant-schema app (label ``queue``). State changes go through ``mall.queue.actions``;
pure rules (slot layout, call order) live in ``mall.queue.rules``.
"""
