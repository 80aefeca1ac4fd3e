"""One run of a workflow, from the Lambda event to the committed cursor: the handler
factory, the invocation event, the runner (claim, scan plan, publish once, commit), the
audit-trail scan, environment parsing, and the base of every project error
(``errors.SentinelError``).

Nothing is imported here (Lambda cold start).
"""
