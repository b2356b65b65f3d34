"""Multi-arm trials in the audit (issue 17, item 6): the merged-arm analysis next to the shared-control
model.  The covariance against the Gleser & Olkin formula recomputed by hand from the data rows (and
against metafor's vcalc rule), the GLS pool against its closed form, its zero-covariance limit against
inverse-variance pooling, the registry section's validation, and the reports."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from metaacu import MetaacuInputError, meta_analysis, vcalc
from metaacu.audit import audit_claims, load_dataset, load_registry
from metaacu.audit.report import claim_row, html_report, verdict_table_markdown
from metaacu.audit.reproduction import reproduction_table
from metaacu.audit.shared_control import SHARED_PREFIX, gls_pool, section_frame

from tolerances import RTOL_PATHS

REGISTERED = {
    ("chronic_lbp_cherkin_vs_usual_care", "cherkin2009_acu_vs_uc_w08chg"),
    ("specific_effect_cherkin2009", "cherkin2009_real_vs_sim_w08chg"),
    ("practitioner_skill", "cherkin2009_real_vs_sim_w08chg_skill"),
}


def _analyses(results):
    return [a for r in results.values() for a in r.shared_control]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL_PATHS * max(1.0, abs(b))


def _change_variance(dataset, arm: str, r_pre_post: float) -> tuple[float, float]:
    """(n, variance of the 8-week RMDQ change) of a Cherkin arm, from its baseline and 8-week rows."""
    o = dataset.outcomes.set_index("row_id")
    base, final = o.loc[f"cherkin2009_rmdq_w00t1_{arm}"], o.loc[f"cherkin2009_rmdq_w08_{arm}"]
    sb, sf = float(base["sd"]), float(final["sd"])
    return float(base["n"]), sb**2 + sf**2 - 2 * r_pre_post * sb * sf  # Cochrane Handbook 5.1 16.1.3.2


def test_the_registered_rows_are_analysed(results, registry):
    got = {(a.claim_id, a.row_id) for a in _analyses(results)}
    assert got == REGISTERED == {(e["id"], e["row"]) for e in registry["shared_control"]["claims"]}


def test_the_covariance_is_the_gleser_olkin_formula_by_hand(results, dataset, registry):
    r = float(registry["assumptions"]["prepost_correlation"]["value"])
    for a in _analyses(results):
        ctl = a.control.removeprefix("cherkin2009_")
        n_c, var_c = _change_variance(dataset, ctl, r)
        v = a.covariance.to_dense()
        assert _close(v[0, 1], var_c / n_c) and _close(v[1, 0], var_c / n_c)  # s_c^2 / n_c
        for i, arm in enumerate(a.arms):
            n_i, var_i = _change_variance(dataset, arm.removeprefix("cherkin2009_"), r)
            assert _close(v[i, i], var_i / n_i + var_c / n_c)
            assert _close(a.arm_se[i] ** 2, v[i, i])
        # metafor's vcalc rule for contrasts sharing a group: weights n / s^2 of each condition
        n1 = [_change_variance(dataset, x.removeprefix("cherkin2009_"), r) for x in a.arms]
        w1 = [n / var for n, var in n1]
        via_vcalc = vcalc(np.diag(v), [a.trial] * 2, grp1=[1, 2], grp2=[3, 3], w1=w1, w2=[n_c / var_c] * 2)
        np.testing.assert_allclose(via_vcalc.to_dense(), v, rtol=RTOL_PATHS)
    usual = next(a for a in _analyses(results) if a.control == "cherkin2009_usual_care")
    assert usual.covariance.to_dense()[0, 1] == pytest.approx((5.1**2 + 6.0**2 - 5.1 * 6.0) / 161, rel=1e-12)


def test_the_gls_pool_is_the_inverse_covariance_weighted_mean(results):
    for a in _analyses(results):
        v, y = a.covariance.to_dense(), np.array(a.arm_estimates)
        w = np.linalg.solve(v, np.ones(2))
        assert _close(a.estimate, float(w @ y / w.sum()))
        assert _close(a.se, 1.0 / math.sqrt(w.sum()))
    y, v = np.array([2.3, 2.4]), np.array([[0.371, 0.195], [0.195, 0.394]])
    fit = gls_pool(y, v, ("a", "b"))
    w = np.linalg.solve(v, np.ones(2))
    assert abs(float(fit.estimate[0]) - float(w @ y) / w.sum()) <= 1e-12
    assert abs(float(fit.se[0]) - 1.0 / math.sqrt(w.sum())) <= 1e-12


def test_without_the_covariance_it_is_inverse_variance_pooling():
    y, vi = np.array([2.3, 2.4]), np.array([0.371, 0.394])
    fit = gls_pool(y, np.diag(vi), ("a", "b"))
    iv = meta_analysis(y, vi, method="EE")
    w = 1.0 / vi
    assert abs(float(fit.estimate[0]) - float(w @ y / w.sum())) <= 1e-12
    assert abs(float(fit.se[0]) - 1.0 / math.sqrt(w.sum())) <= 1e-12
    assert abs(float(fit.estimate[0]) - iv.estimate) <= 1e-12 and abs(float(fit.se[0]) - iv.se) <= 1e-12


def test_the_verdict_stays_the_merged_arm_one(results):
    for a in _analyses(results):
        r = results[a.claim_id]
        if a.use == "decide":
            assert (a.merged_estimate, a.merged_ci_low, a.merged_ci_high) == (r.estimate, r.ci_low, r.ci_high)
            assert a.merged_verdict == r.verdict and a.merged_category == r.category
            row = r.sensitivity[r.sensitivity["scenario"].str.startswith(SHARED_PREFIX)]
            assert len(row) == 1 and row["estimate"].iloc[0] == a.estimate and row["verdict"].iloc[0] == a.verdict
            flat = claim_row(r)
            assert flat["shared_control_estimate"] == a.estimate
            assert flat["verdict_changes_under_shared_control"] == a.changes == (a.verdict != r.verdict)
        else:  # a support row never enters the sensitivity table nor the claims.csv columns
            assert not r.sensitivity["scenario"].str.startswith(SHARED_PREFIX).any()
            assert claim_row(r)["shared_control_verdict"] == ""
        # the two analyses differ (different weights) but estimate the same arms
        assert a.estimate != a.merged_estimate
        assert min(a.arm_estimates) <= a.estimate <= max(a.arm_estimates)


def test_without_the_section_nothing_changes(data_copy):
    path = data_copy(lambda t: re.sub(r"\n\[shared_control\]\n.*?\n]\n", "\n", t, count=1, flags=re.S))
    ds = load_dataset(path.parent)
    reg = load_registry(path, dataset=ds)
    assert "shared_control" not in reg
    reg["claim"] = [c for c in reg["claim"] if c["id"] in {cid for cid, _ in REGISTERED}]
    for r in audit_claims(registry=reg, dataset=ds):
        assert r.shared_control == () and not r.sensitivity["scenario"].str.startswith(SHARED_PREFIX).any()


def test_the_report_section_lists_every_registered_claim(results, dataset, registry):
    listed = list(results.values())
    frame = section_frame(listed)
    assert {(c, row.split(" ")[0]) for c, row in zip(frame["claim"], frame["evidence row (use)"], strict=True)} == (
        REGISTERED
    )
    md = verdict_table_markdown(listed)
    section = md.split("## Multi-arm trials: merged arms vs shared-control model", 1)[1].split("\n## ", 1)[0]
    page = html_report(listed, {}, reproduction_table(listed, dataset, registry))
    assert "<h2 id='shared_control'>Multi-arm trials: merged arms vs shared-control model</h2>" in page
    for cid, rid in REGISTERED:
        assert f"| {cid} | {rid} (" in section
        assert f"<td>{cid}</td>" in page.split("id='shared_control'", 1)[1].split("<h2", 1)[0]
    assert "Gleser & Olkin 2009" in section


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (
            '{ id = "practitioner_skill", row = "cherkin2009_real_vs_sim_w08chg_skill" }',
            '{ id = "practitioner_skil", row = "cherkin2009_real_vs_sim_w08chg_skill" }',
            r"\[shared_control\] claims\[2\]\.id 'practitioner_skil' is not a claim",
        ),
        (
            '{ id = "practitioner_skill", row = "cherkin2009_real_vs_sim_w08chg_skill" }',
            '{ id = "practitioner_skill", row = "cherkin2009_ind_vs_std_w08chg" }',
            r"\[shared_control\] claims\[2\]\.row 'cherkin2009_ind_vs_std_w08chg' compares 1 distinct arm.*at least 2",
        ),
        (
            '{ id = "practitioner_skill", row = "cherkin2009_real_vs_sim_w08chg_skill" }',
            '{ id = "practitioner_skill", row = "no_such_row" }',
            r"claims\[2\]\.row 'no_such_row' is not an evidence row of claim 'practitioner_skill'",
        ),
        (
            '{ id = "practitioner_skill", row = "cherkin2009_real_vs_sim_w08chg_skill" }',
            '{ id = "most_people_find_relief", row = "cherkin2009_needling_responders" }',
            r"claims\[2\]\.row 'cherkin2009_needling_responders' must merge arm summaries",
        ),
        ('[shared_control]\nmodel = "EE"', '[shared_control]\nmodel = "REML"', r"model 'REML' is not one of \['EE'\]"),
        (
            'covariance_source = "Gleser',
            'covariance_sourc = "Gleser',
            r"\[shared_control\] missing key 'covariance_source'",
        ),
    ],
)
def test_the_registry_refuses_bad_entries(data_copy, old, new, match):
    path = data_copy(lambda t: t.replace(old, new, 1))
    with pytest.raises(MetaacuInputError, match=match):
        load_registry(path, dataset=load_dataset(path.parent))
