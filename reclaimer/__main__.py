from reclaimer.cli import entrypoint

entrypoint()
