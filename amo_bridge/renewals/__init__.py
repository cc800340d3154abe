"""Renewals (пролонгации), issue 5: ours and foreign policies get a renewal deal and task in
amoCRM before they end — exactly once — assigned by the account's rules; the renewal follows its
policy (end date moved, cancelled), records its outcome, binds won clients to their seller and
schedules re-contact tasks for lost deals.

Domain functions here write rows and return what they created; they never enqueue (the jobs in
``jobs/renewals.py`` do). Remote calls run only outside database transactions.
"""
