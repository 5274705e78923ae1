"""When runs start: Quartz schedules, periodic, file arrival, table update and continuous
jobs, decided by `TriggerLoop.step(now)` from the store and a clock passed in."""
