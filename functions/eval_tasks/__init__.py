"""The eval_tasks Lambda function (entry point: ``handler.py``)."""
