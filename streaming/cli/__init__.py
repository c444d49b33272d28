"""The `streaming` command line (recipes and training arrive with their issues)."""
