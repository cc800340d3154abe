"""Everything SMS (DESIGN.md): the gateway port and one adapter per provider, segment counting
(ground floor); the outbox state machine and the rules that decide when a message is due
(domain floor: they write rows and return them, never enqueue)."""
