"""Entry point of the PyTorch backend: registers it without importing torch."""

from ember.hookspecs import hookimpl


@hookimpl
def ember_register_backends(register):
    register(
        "torch", "ember_torch._backend:create_backend", distribution="ember-torch", native="torch"
    )
