"""Reliability checks: hostile input, faults, load, soak and security, each producing one table row.

``python -m wallboard.reliability`` runs the short set (a couple of minutes); ``--long`` the long one
(fuzzing volume, the soak). The same check functions back ``tests/test_reliability_*.py``; the published table
lives in docs/reliability.md. Needs the ``test`` extra (hypothesis).
"""
