"""DocSpace webhook deliveries: the signature check (``signature``), the tolerant parse of a
verified body (``delivery``), the receiver's settings (``settings``) and the Function URL
handler that verifies and queues them (``receiver``).

Nothing is imported here (Lambda cold start).
"""
