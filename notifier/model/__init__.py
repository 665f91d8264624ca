"""What a request, a notification and a delivery channel are: pure definitions, no I/O."""
