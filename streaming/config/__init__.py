"""Recipe configuration: typed schemas (`schema`) and loading with includes and overrides."""

from streaming.config.load import RecipeError, load_recipe, parse_duration
from streaming.config.schema import TrainConfig

__all__ = ["RecipeError", "TrainConfig", "load_recipe", "parse_duration"]
