"""In-memory adapters for every storage port: the fast seam for tests and a database-free service.

They pass the same contract suites as the SQL adapters (`tests/contract/`): a unit of work commits or
rolls back, writes are fenced by the attempt, events get gapless sequence numbers, data is tenant
scoped. Nothing survives the process.
"""
