"""Adapters found by entry point, imported only when named, validated, with plain errors."""

import importlib
import sys
import textwrap

import pytest

from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.registry import (
    AdapterInfo,
    adapter_class_problems,
    list_adapters,
    load_adapter,
    register_adapter,
    registered_adapter,
    unregister_adapter,
)
from tracker_mail_plugin.testing import RecordingAdapter

GOOD = """
    from tracker_mail_plugin.testing import RecordingAdapter

    class GoodAdapter(RecordingAdapter):
        name = "good"
"""


def install(site, distribution, module, source, entry_points):
    """A fake installed distribution: a module plus dist-info with entry points."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{distribution.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.2.3\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[tracker_mail_plugin.adapters]\n{lines}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    importlib.invalidate_caches()
    for name in [m for m in sys.modules if m.startswith("tm_fake_")]:
        del sys.modules[name]


def test_an_installed_adapter_is_loaded_by_its_entry_point_name(site):
    install(
        site, "tracker-mail-plugin-good", "tm_fake_good", GOOD, {"good": "tm_fake_good:GoodAdapter"}
    )
    cls = load_adapter("good")
    assert cls.__name__ == "GoodAdapter"
    assert cls.name == "good"


def test_adapters_are_imported_only_when_named(site):
    install(
        site, "tracker-mail-plugin-good", "tm_fake_good", GOOD, {"good": "tm_fake_good:GoodAdapter"}
    )
    install(
        site, "tracker-mail-plugin-lazy", "tm_fake_lazy", GOOD, {"lazy": "tm_fake_lazy:GoodAdapter"}
    )
    load_adapter("good")
    assert "tm_fake_good" in sys.modules
    assert "tm_fake_lazy" not in sys.modules


def test_a_missing_adapter_lists_the_installed_ones_and_never_a_package_named_after_it():
    with pytest.raises(ConfigurationError) as caught:
        load_adapter("youtrack")
    message = str(caught.value)
    assert message.startswith("no tracker adapter named 'youtrack' is installed (installed: ")
    assert "recording" in message
    assert "did you mean" not in message
    assert "tracker-mail-plugin-youtrack" not in message
    assert caught.value.exit_code == 2


def test_a_misspelt_adapter_suggests_the_installed_one_closest_to_it():
    with pytest.raises(ConfigurationError) as caught:
        load_adapter("recordng")
    assert str(caught.value).startswith(
        "no tracker adapter named 'recordng' is installed; did you mean 'recording'? (installed: "
    )
    assert "tracker-mail-plugin-recordng" not in str(caught.value)


def test_a_plugin_that_fails_to_import_is_named(site):
    install(
        site,
        "tracker-mail-plugin-broken",
        "tm_fake_broken",
        "import not_a_module_anywhere\n",
        {"broken": "tm_fake_broken:Adapter"},
    )
    with pytest.raises(ConfigurationError) as caught:
        load_adapter("broken")
    message = str(caught.value)
    assert "adapter 'broken' (tracker-mail-plugin-broken 1.2.3) failed to import" in message
    assert "ModuleNotFoundError" in message


def test_an_invalid_plugin_gets_every_problem_at_once(site):
    source = """
        from tracker_mail_plugin.adapter import TrackerAdapter

        class Half(TrackerAdapter):
            name = "other"
            config_model = dict
            capabilities = {"watchers"}

        NotAClass = 3
    """
    install(
        site,
        "tracker-mail-plugin-half",
        "tm_fake_half",
        source,
        {"half": "tm_fake_half:Half", "number": "tm_fake_half:NotAClass"},
    )
    with pytest.raises(ConfigurationError) as caught:
        load_adapter("half")
    problems = caught.value.problems
    assert len(problems) == 4
    assert all(p.startswith("adapter 'half'") for p in problems)
    assert all(p.endswith("[tracker-mail-plugin-half 1.2.3]") for p in problems)
    joined = " ".join(problems)
    assert "declares name 'other'; it must equal the entry-point name" in joined
    assert "config_model must be a pydantic model class" in joined
    assert "capabilities must be a frozenset of Capability" in joined
    assert "methods not implemented: add_comment, can, check, create_issue" in joined
    with pytest.raises(ConfigurationError, match="is not a TrackerAdapter subclass"):
        load_adapter("number")


def test_the_same_name_from_two_distributions_is_refused(site):
    install(
        site, "tracker-mail-plugin-good", "tm_fake_good", GOOD, {"good": "tm_fake_good:GoodAdapter"}
    )
    install(site, "other-good", "tm_fake_good2", GOOD, {"good": "tm_fake_good2:GoodAdapter"})
    with pytest.raises(ConfigurationError, match="provided twice"):
        load_adapter("good")


def test_list_adapters_imports_each_and_reports_errors_without_raising(site):
    install(
        site, "tracker-mail-plugin-good", "tm_fake_good", GOOD, {"good": "tm_fake_good:GoodAdapter"}
    )
    install(
        site,
        "tracker-mail-plugin-broken",
        "tm_fake_broken",
        "raise RuntimeError('boom')\n",
        {"broken": "tm_fake_broken:Adapter"},
    )
    found = {info.name: info for info in list_adapters() if info.name in ("good", "broken")}
    assert found["good"] == AdapterInfo("good", "tracker-mail-plugin-good", "1.2.3", None)
    assert found["broken"].distribution == "tracker-mail-plugin-broken"
    assert "RuntimeError: boom" in found["broken"].error


class ScratchTracker(RecordingAdapter):
    """A tracker with no entry point, known only while a test registers it."""

    name = "scratch"


def test_registered_adapters_replace_entry_points_for_tests():
    with registered_adapter("scratch", ScratchTracker):
        assert load_adapter("scratch") is ScratchTracker
        assert AdapterInfo("scratch", None, None, None) in list_adapters()
    with pytest.raises(
        ConfigurationError, match=r"no tracker adapter named 'scratch' is installed"
    ):
        load_adapter("scratch")
    register_adapter("scratch", ScratchTracker)
    try:
        assert load_adapter("scratch") is ScratchTracker
    finally:
        unregister_adapter("scratch")


def test_the_recording_adapter_ships_as_an_entry_point():
    assert load_adapter("recording") is RecordingAdapter
    info = next(i for i in list_adapters() if i.name == "recording")
    assert (info.distribution, info.error) == ("tracker-mail-plugin", None)


def test_registering_validates_the_class():
    with pytest.raises(ConfigurationError, match="declares name 'recording'"):
        register_adapter("tracker", RecordingAdapter)
    assert adapter_class_problems("recording", RecordingAdapter) == []
    assert adapter_class_problems("x", object) == [
        "adapter 'x': <class 'object'> is not a TrackerAdapter subclass"
    ]


class _Buggy(RecordingAdapter):
    name = "buggy"

    def find_user(self, address):
        return {}["email"]  # a KeyError the adapter forgot to translate


def test_an_error_that_came_untranslated_out_of_an_adapter_blames_it():
    from tracker_mail_plugin.errors import RetryLater
    from tracker_mail_plugin.registry import untranslated

    with pytest.raises(KeyError) as raised:
        _Buggy().find_user("a@example.com")
    assert untranslated(raised.value, _Buggy()) == (
        "the buggy adapter failed with KeyError, which is not one of tracker-mail's errors: "
        "a bug in the adapter; report it to its authors with the traceback"
    )
    # Not through the adapter's code, or already in the error tree: not its bug.
    with pytest.raises(KeyError) as elsewhere:
        {}["x"]
    assert untranslated(elsewhere.value, RecordingAdapter()) is None
    assert untranslated(RetryLater("later"), _Buggy()) is None


def test_an_installed_adapter_is_named_with_its_distribution():
    from tracker_mail_plugin.registry import origin

    assert origin("template") == "tracker-mail-plugin-template 0.1.0"
    assert origin("no-such-adapter") is None
