"""Type stub of the lazy namespace in ``__init__.py``: the names of its ``_EXPORTS`` table, eagerly.

``import metaacu`` resolves these names on first use through a module ``__getattr__``, which type
checkers cannot follow; this stub tells them what each name is.  ``tests/test_typing.py`` checks that
it lists exactly the names (and modules) of ``_EXPORTS``.  A stub, not ``if TYPE_CHECKING:`` imports in
``__init__.py``: the package namespace is in the engine layer, and imports of the analyses and plots
there would go up a layer (``tests/test_layering.py``).
"""

from ._validation import LikelihoodWarning as LikelihoodWarning
from ._validation import MetaacuInputError as MetaacuInputError
from .batch import meta_analysis_batch as meta_analysis_batch
from .bayes import BayesianMetaAnalysis as BayesianMetaAnalysis
from .bayes import bayesian_meta_analysis as bayesian_meta_analysis
from .bayes import bayesian_meta_analysis_batch as bayesian_meta_analysis_batch
from .bayes_priors import HalfCauchy as HalfCauchy
from .bayes_priors import HalfNormal as HalfNormal
from .bayes_priors import HalfStudentT as HalfStudentT
from .bayes_priors import MuPrior as MuPrior
from .bayes_priors import rhodes_prior as rhodes_prior
from .bayes_priors import turner_prior as turner_prior
from .bayes_priors import weakly_informative_prior as weakly_informative_prior
from .bias import egger_test as egger_test
from .bias import rank_test as rank_test
from .binary import mantel_haenszel as mantel_haenszel
from .binary import peto as peto
from .binary_rates import mantel_haenszel_rates as mantel_haenszel_rates
from .escalc import EffectSizes as EffectSizes
from .escalc import change_score_effect_sizes as change_score_effect_sizes
from .escalc import effect_sizes as effect_sizes
from .escalc import hedges_j as hedges_j
from .fitstats import likelihood_ratio_test as likelihood_ratio_test
from .glmm import glmm_meta_analysis as glmm_meta_analysis
from .glmm_regression import glmm_meta_regression as glmm_meta_regression
from .glmm_regression_result import GLMMRegression as GLMMRegression
from .glmm_result import GLMMResult as GLMMResult
from .henmi import HenmiCopas as HenmiCopas
from .henmi import henmi_copas as henmi_copas
from .hypotheses import WaldTest as WaldTest
from .hypotheses import wald_test as wald_test
from .interval import Interval as Interval
from .measures import MEASURES as MEASURES
from .measures import measure_info as measure_info
from .multilevel import multilevel_meta_analysis as multilevel_meta_analysis
from .multilevel_compare import multilevel_likelihood_ratio_test as multilevel_likelihood_ratio_test
from .multilevel_result import MultilevelMetaAnalysis as MultilevelMetaAnalysis
from .network import NetworkContrasts as NetworkContrasts
from .network import network_contrasts as network_contrasts
from .network import treatment_design as treatment_design
from .permutation import PermutationTest as PermutationTest
from .permutation import permutation_test as permutation_test
from .plots import forest_plot as forest_plot
from .plots import funnel_plot as funnel_plot
from .pooling import meta_analysis as meta_analysis
from .profiles import PROFILES as PROFILES
from .regression import meta_regression as meta_regression
from .results import MetaAnalysis as MetaAnalysis
from .robust import ClusterRobust as ClusterRobust
from .robust import cluster_robust as cluster_robust
from .sensitivity import cumulative as cumulative
from .sensitivity import influence as influence
from .sensitivity import leave_one_out as leave_one_out
from .subgroups import subgroup_analysis as subgroup_analysis
from .trimfill import fail_safe_n as fail_safe_n
from .trimfill import trim_and_fill as trim_and_fill
from .vcov import multiple_outcome_smd_covariance as multiple_outcome_smd_covariance
from .vcov import shared_control_covariance as shared_control_covariance
from .vcov import vcalc as vcalc
from .vcov_result import SamplingCovariance as SamplingCovariance

__version__: str
__all__: list[str]
