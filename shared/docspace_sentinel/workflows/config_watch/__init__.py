"""Configuration and privilege watch (issue 15): the audit catalogue and settings snapshots."""
