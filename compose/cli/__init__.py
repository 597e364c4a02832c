"""The hoist command line: a thin layer over ``compose`` and ``runtime``. Only this package prints or exits."""
