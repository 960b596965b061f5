"""Package data of the domain: the maintained model price table (``model_prices.json``).

Kept as a package (not a loose folder) so ``importlib.resources`` finds the file in a wheel, a
Lambda layer or a source checkout alike. See ``model_prices.md`` beside it for how to maintain it.
"""
