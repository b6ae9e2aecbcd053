"""Entry point of the NumPy backend: registers it without importing NumPy."""

from ember.hookspecs import hookimpl


@hookimpl
def ember_register_backends(register):
    register(
        "numpy", "ember_numpy._backend:create_backend", distribution="ember-numpy", native="numpy"
    )
