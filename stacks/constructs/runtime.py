"""The one Lambda runtime and architecture every function and layer is built for, and the repo root.

The dependency layer's wheels are compiled for exactly this Python (``make layers`` passes
``--python-version`` from the Makefile's ``LAMBDA_PYTHON``, which a test keeps equal to this), and
Python 3.13 runs on Amazon Linux 2023 (glibc 2.34), so manylinux2014 and manylinux_2_28 wheels load.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parents[2]
PYTHON_VERSION = "3.13"
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
