"""The worker Lambda function (entry point: ``handler.py``)."""
