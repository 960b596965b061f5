"""The api Lambda function (entry point: ``handler.py``)."""
