"""Portal actions: the one gate every action passes (refusals, caps, dry run, dedup of
seen/acted findings) and the disable state machine behind it.

Nothing is imported here (Lambda cold start).
"""
