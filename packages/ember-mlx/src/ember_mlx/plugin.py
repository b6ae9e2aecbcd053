"""Entry point of the MLX backend: registers it without importing mlx."""

from ember.hookspecs import hookimpl


@hookimpl
def ember_register_backends(register):
    register(
        "mlx", "ember_mlx._backend:create_backend", distribution="ember-mlx", native="mlx"
    )
