from tests.integration.conftest import demo_root  # noqa: F401  (the built-in data fixture)
