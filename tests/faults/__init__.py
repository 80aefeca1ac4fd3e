"""Fault injection: every scheduled workflow against a failing portal, SNS and DynamoDB."""
