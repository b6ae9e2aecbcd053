"""Entry point of the MLX backend: registers it without importing mlx."""

from ember.hookspecs import hookimpl


@hookimpl
def ember_register_backends(register):  # type: ignore[no-untyped-def]
    register(
        "mlx", "ember_mlx._backend:create_backend", distribution="ember-mlx", native="mlx"
    )
