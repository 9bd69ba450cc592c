"""REST shim only: the legacy routes /auth/* and /api/ai-<feature>."""
