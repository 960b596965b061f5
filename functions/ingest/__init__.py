"""The ingest Lambda function (entry point: ``handler.py``)."""
