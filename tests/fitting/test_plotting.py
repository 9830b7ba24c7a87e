import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from scalelaw.plotting import log_axis, plain_number  # noqa: E402


@pytest.mark.parametrize("value, label", [(0.2, "0.2"), (20, "20"), (300, "300"), (4000, "4k"), (1500, "1500"),
                                          (20_000, "20k"), (1.5e6, "1.5M"), (3e9, "3G"), (2.5e12, "2.5T")])
def test_plain_number(value, label):
    assert plain_number(value) == label


def _labels(lo, hi):
    fig, ax = plt.subplots()
    ax.plot([lo, hi], [1, 2])
    ax.set_xscale("log")
    log_axis(ax.xaxis)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.xaxis.get_majorticklabels() + ax.xaxis.get_minorticklabels()
              if t.get_text() and lo <= t.get_position()[0] <= hi]
    plt.close(fig)
    return labels


def test_a_log_axis_under_one_decade_still_has_labels():
    # matplotlib's default labels no tick between 20 and 80
    assert len(_labels(20, 80)) >= 2


def test_a_log_axis_over_many_decades_labels_the_decades():
    labels = _labels(1e10, 1e13)
    assert "10G" in labels and "10T" in labels
