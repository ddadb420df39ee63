"""Pure-Python core: wire models, the metrics engine, alert rules and configuration models.

No Qt, no asyncio, no I/O, no hidden clock: every query takes ``now``.
"""
