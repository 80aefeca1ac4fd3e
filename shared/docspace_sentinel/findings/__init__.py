"""Findings: the record a workflow reports, its renderings per channel (text, e-mail, SNS
attributes), the scrubbing of untrusted portal text, and the channels they go out on
(SNS publisher, SES mail) with their errors.

Nothing is imported here (Lambda cold start).
"""
