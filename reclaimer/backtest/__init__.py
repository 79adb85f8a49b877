"""`reclaimer backtest`: replay the service's loop over Prometheus history (issue 18).

The same `decide()`, the same signal rules (`signals.assemble`), the same safety
limits; the services' simulated states are fed back into each step. Prometheus is
read once per signal per chunk with range queries (`promql`, `fetch`), each step's
windows are evaluated locally (`windows`), the loop runs in `simulate`, the oracle
in `oracle`, the result's shape in `result`. docs/backtest.md says what it models.
"""
