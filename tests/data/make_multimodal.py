"""Writes multimodal_likelihood.json: heavy-tailed datasets whose (restricted) likelihood has more than
one local maximum in tau2.  Run from the repository root: `.venv/bin/python tests/data/make_multimodal.py`.
The reference for each is computed in the tests themselves (a dense grid of the log-likelihood), so the
file holds only the data, the method and how the dataset was drawn."""

import json
import warnings

import numpy as np

import metaacu

warnings.simplefilter("ignore", metaacu.LikelihoodWarning)
rng = np.random.default_rng(7)
out = []
for trial in range(3000):
    k = int(rng.integers(5, 45))
    y = rng.standard_t(1.2, k) * rng.uniform(0.2, 2)
    v = rng.uniform(0.001, 0.5, k) ** 2 * rng.choice([1, 10, 100], k)
    for method in ("REML", "ML"):
        r = metaacu.meta_analysis(y, v, method=method)
        two_interior = r.tau2_maxima > 1 and r.tau2 > 0 and r.tau2_alternative[0] > 0
        boundary_loses = (
            r.tau2_maxima > 1
            and r.tau2_alternative[0] == 0
            and len([o for o in out if o["kind"] == "boundary_loses"]) < 4
        )
        boundary_wins = r.tau2_maxima > 1 and r.tau2 == 0 and len([o for o in out if o["kind"] == "boundary_wins"]) < 3
        if two_interior or boundary_loses or boundary_wins:
            kind = "two_interior" if two_interior else "boundary_loses" if boundary_loses else "boundary_wins"
            out.append(
                {
                    "name": f"t12_{trial}_{method}",
                    "kind": kind,
                    "method": method,
                    "draw": f"seed 7, trial {trial}",
                    "yi": [float(a) for a in y],
                    "vi": [float(a) for a in v],
                }
            )
with open("tests/data/multimodal_likelihood.json", "w", encoding="utf-8") as fh:
    json.dump({"note": "written by tests/data/make_multimodal.py", "datasets": out}, fh, indent=1)
print(len(out), {k: sum(o["kind"] == k for o in out) for k in ("two_interior", "boundary_loses", "boundary_wins")})
