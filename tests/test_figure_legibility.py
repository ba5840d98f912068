"""The legibility check every figure passes when the tiny workflow saves it (test_workflow
runs it with EFFICIENT_SYNAPSES_CHECK_FIGURES set): it must catch a long legend and text
over another panel, and pass a clean figure."""

from __future__ import annotations

import pytest

from efficient_synapses.figures.style import (
    CHECK_ENV,
    FigureLegibilityError,
    legibility_problems,
    plt,
    save_figure,
)


def _two_panels(**kwargs):
    fig, axes = plt.subplots(1, 2, figsize=(6, 2.5), **kwargs)
    for ax in axes:
        ax.plot([1, 2, 3], [1, 4, 9])
        ax.set_xlabel("epoch")
    return fig, axes


def test_a_clean_figure_passes():
    fig, axes = _two_panels()
    axes[0].set_title("a  short")
    axes[1].set_title("b  short")
    fig.tight_layout()
    assert legibility_problems(fig) == []
    plt.close(fig)


def test_a_legend_of_one_entry_per_network_fails():
    fig, axes = _two_panels()
    for k in range(30):
        axes[0].plot([1, 2], [k, k + 1], label=f"network {k}")
    fig.legend(loc="lower center", ncol=6)
    problems = legibility_problems(fig)
    assert any("legend of 30 entries" in p for p in problems), problems
    plt.close(fig)


def test_titles_that_run_into_each_other_fail():
    fig, axes = _two_panels()
    axes[0].set_title("a  a title far too long for its narrow panel to hold", loc="left")
    axes[1].set_title("b  the next panel's title", loc="left")
    problems = legibility_problems(fig)
    assert any("over" in p for p in problems), problems
    plt.close(fig)


def test_a_label_over_the_neighbouring_panel_fails():
    fig, axes = plt.subplots(1, 2, figsize=(4, 2), gridspec_kw={"wspace": 0.05})
    axes[1].set_ylabel("a y label that lands inside the panel to the left")
    problems = legibility_problems(fig)
    assert problems and all("over" in p for p in problems)
    plt.close(fig)


def test_saving_stops_an_illegible_figure_only_when_checking(tmp_path, monkeypatch):
    fig, axes = _two_panels()
    for k in range(20):
        axes[0].plot([1, 2], [k, k + 1], label=f"n{k}")
    axes[0].legend()
    save_figure(fig, tmp_path / "a.pdf", tmp_path / "a.png")  # not checking: saved
    assert (tmp_path / "a.png").is_file()
    monkeypatch.setenv(CHECK_ENV, "1")
    fig, axes = _two_panels()
    for k in range(20):
        axes[0].plot([1, 2], [k, k + 1], label=f"n{k}")
    axes[0].legend()
    with pytest.raises(FigureLegibilityError, match="b.png: a legend of 20 entries"):
        save_figure(fig, tmp_path / "b.pdf", tmp_path / "b.png")
    assert not (tmp_path / "b.png").exists()
