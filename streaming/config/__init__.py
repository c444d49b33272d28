"""Recipe configuration: typed schemas (`schema`), loading with includes and overrides
(`load`), and checking the values (`check`)."""

from streaming.config.check import RecipeError, check_recipe, parse_duration
from streaming.config.load import load_recipe
from streaming.config.schema import TrainConfig

__all__ = ["RecipeError", "TrainConfig", "check_recipe", "load_recipe", "parse_duration"]
