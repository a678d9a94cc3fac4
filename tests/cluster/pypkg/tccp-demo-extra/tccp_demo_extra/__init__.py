"""Tiny package served by the tccp test cluster's local package index.

Installing it on a compute node proves that `pip install --index-url` against
the cluster's own index works without internet access.
"""

__version__ = "0.1.0"


def hello(name="tccp"):
    """Return a greeting that tests can check for."""
    return f"tccp-demo-extra {__version__} says hello to {name}"


def mean(values):
    """A tiny bit of real work, so a job has something to compute."""
    values = list(values)
    return sum(values) / len(values) if values else 0.0
