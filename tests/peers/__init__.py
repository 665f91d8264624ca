"""Local network peers that speak each provider's wire format, for the channel tests.

Each is a real server on 127.0.0.1: an SMTP server (aiosmtpd), a web push
service, the FCM HTTP v1 API with its OAuth2 token endpoint, and APNs over
HTTP/2 with TLS (hypercorn). Each records what it received and can be told to
answer the next requests with the provider's errors.
"""
