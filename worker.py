"""The delivery worker's entry point: gevent's monkey-patching first, then the worker.

``notifier worker`` (and ``make worker``) runs this file; see notifier/worker.py.
"""

from gevent import monkey

monkey.patch_all()

from notifier.delivery.worker import main  # noqa: E402  (must follow patch_all)

if __name__ == "__main__":
    main()
