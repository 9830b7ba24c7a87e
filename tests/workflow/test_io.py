import os

import pandas as pd
import pyarrow as pa
import pytest

from scalelaw import io


def test_parquet_carries_provenance_and_versions(tmp_path):
    path = tmp_path / "a" / "t.parquet"
    record = io.provenance("test", corpus="c", config={"k": 1})
    io.write_parquet(pd.DataFrame({"x": [1, 2]}), path, record)
    back = io.read_provenance(path)
    assert back["step"] == "test" and back["config"] == {"k": 1}
    assert back["packages"]["pyarrow"] == pa.__version__
    assert back["packages"]["pandas"] == pd.__version__
    assert io.read_parquet(path)["x"].tolist() == [1, 2]


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "t.parquet"

    class Boom(Exception):
        pass

    def write(tmp):
        open(tmp, "w").write("partial")
        raise Boom

    with pytest.raises(Boom):
        io._replace_atomically(write, path)
    assert os.listdir(tmp_path) == []


def test_unwritable_directory_names_the_path(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o500)
    if os.access(target, os.W_OK):  # root ignores permissions
        target.chmod(0o700)
        (tmp_path / "file").write_text("")
        path = tmp_path / "file" / "t.parquet"
    else:
        path = target / "t.parquet"
    with pytest.raises(OSError, match=f"cannot write {path}"):
        io.write_parquet(pd.DataFrame({"x": [1]}), path, {})


def test_read_rows_streams_a_range(tmp_path):
    path = tmp_path / "t.parquet"
    io.write_parquet(pd.DataFrame({"x": range(5000)}), path, {}, row_group_size=700)
    assert io.read_rows(path, 1500, 3100)["x"].tolist() == list(range(1500, 3100))
    assert io.read_rows(path, 4990, 5000, columns=["x"])["x"].tolist() == list(range(4990, 5000))


def test_outputs_get_the_umask_mode_not_0600(tmp_path):
    mask = os.umask(0o027)
    try:
        import importlib

        fresh = importlib.reload(io)
        fresh.write_parquet(pd.DataFrame({"x": [1]}), tmp_path / "t.parquet", {})
        fresh.write_json({"a": 1}, tmp_path / "t.json")
    finally:
        os.umask(mask)
        importlib.reload(io)
    assert (tmp_path / "t.parquet").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "t.json").stat().st_mode & 0o777 == 0o640


def test_figures_are_written_atomically_and_closed(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    io.write_figure(fig, tmp_path / "f" / "a.png")
    assert (tmp_path / "f" / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path / "f") == ["a.png"] and not plt.fignum_exists(fig.number)


def test_sha256_file_matches_hashlib_across_blocks(tmp_path):
    import hashlib

    data = os.urandom(3 * 1024 + 17)
    (tmp_path / "b").write_bytes(data)
    assert io.sha256_file(tmp_path / "b", chunk=1024) == hashlib.sha256(data).hexdigest()


def test_markdown_table_formats_cells():
    frame = pd.DataFrame({"name": ["a", "b"], "n": [1200, 3], "b": [0.123456, float("nan")], "ok": [True, False]})
    assert io.markdown_table(frame).splitlines() == [
        "| name | n | b | ok |", "|---|---|---|---|", "| a | 1,200 | 0.123 | yes |", "| b | 3 | – | no |",
    ]


def test_an_unwritable_output_raises_output_error(tmp_path):
    from scalelaw.errors import OutputError

    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match=f"cannot write {tmp_path / 'file' / 'x.json'}: "):
        io.write_json({}, tmp_path / "file" / "x.json")
