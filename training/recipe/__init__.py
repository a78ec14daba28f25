"""Model recipes: TOML files under configs/, one per recipe, read into one typed dataclass per
section and model type. Every default lives here; an unknown key, in a file or in a `--set`
override (dotted keys: `classifier.C=2.0`), is an error naming it with the closest known key.
The resolved recipe (defaults filled in) is saved in every model's config.json.

One module per model type (common, fast, transformer, ensemble, cascade: its sections), and `load`
(reading a file); everything is importable from `training.recipe`."""
from training.recipe.common import (  # noqa: F401
    BALANCE_MODES, CALIBRATION_METHODS, CLASS_WEIGHTS, Calibration, Cleaning, LIBRARIES, Model,
    PerRisk, Recipe, RecipeInfo, SOURCE_WEIGHT, Segmentation, Sources, library_versions,
    per_risk, read_toml, risk_sources, risk_value,
)
from training.recipe.fast import (  # noqa: F401
    Classifier, Distill, FastCalibration, FastData, FastRecipe, FastThresholds, LexiconFile, SubtypeConfig,
)
from training.recipe.transformer import (  # noqa: F401
    Train, TransformerData, TransformerModel, TransformerRecipe,
)
from training.recipe.ensemble import (  # noqa: F401
    Ensemble, EnsembleData, EnsembleRecipe, Promotion, RetrainConfig, Reviewed,
)
from training.recipe.cascade import Band, CascadeModel, CascadeRecipe, Member  # noqa: F401
from training.recipe.load import (  # noqa: F401
    PER_RISK, RECIPES, as_recipe, check_risks, load_recipe, parse_recipe, recipe_class,
)
