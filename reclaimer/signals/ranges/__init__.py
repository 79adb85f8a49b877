"""Prometheus history as arrays: range queries over a grid, read once per chunk.

The backtest replays a policy over this history; the service learns ``idle.after:
auto`` timeouts from it (`gaps`). Both read it the same way, so it lives below both.
"""
