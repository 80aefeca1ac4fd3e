"""The DocSpace API: the client and its transport (retries, rate limit, redirects refused),
the parsed wire records (users, rooms, audit and login events), MessageAction codes, wire
dates, the client's settings and its secret, the errors the API answers with, and the
helpers that read DocSpace records (which room an event happened in, login history).

Nothing is imported here: ``docspace_sentinel.docspace.client`` loads only what it needs
(Lambda cold start).
"""
