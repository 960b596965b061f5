"""The migrate Lambda function (entry point: ``handler.py``)."""
