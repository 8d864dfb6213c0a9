//! Service tests: faults, webhook, health, metrics, shutdown, flooding (being written for issue #4).
