"""Delivery beyond the inbox: dispatch, the job queue, budgets, records, the worker and its
channels."""
