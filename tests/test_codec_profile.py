"""Profile files: the built-ins load; a broken profile is refused with the field and line."""

from pathlib import Path

import pytest

from hallctl.codec.loader import ProfileError, ProfileLoader, default_profile_dirs, parse_profile

BUILTINS = ["ff68-keypad", "ff68-evaluator", "onbon-bx5", "at-strip"]

MINIMAL = """\
kind: serial-frame
name: tiny
frame:
  - {type: const, name: header, value: "AA"}
  - {type: address, size: 1}
  - {type: data, size: 1}
"""


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profiles_load_from_the_source_devices_dir(name: str) -> None:
    profile = ProfileLoader().load(name)
    assert profile.name == name
    assert ProfileLoader().path_of(name).parent.name == "devices"


def test_loader_searches_dirs_in_order(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(MINIMAL)
    loader = ProfileLoader([tmp_path, *default_profile_dirs()])
    assert loader.load("tiny").header == b"\xaa"
    assert loader.load("ff68-keypad").name == "ff68-keypad"  # falls through to devices/


def test_missing_profile_names_the_search_path(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=str(tmp_path)):
        ProfileLoader([tmp_path]).load("nope")


def test_unknown_field_is_refused_with_its_path_and_line() -> None:
    text = MINIMAL + "checksum_typo: sum8\n"
    with pytest.raises(ProfileError) as err:
        parse_profile(text, "x.yaml")
    assert "x.yaml:7: checksum_typo: Extra inputs are not permitted" in str(err.value)


def test_bad_hex_in_a_segment_names_the_segment_line() -> None:
    text = MINIMAL.replace('value: "AA"', 'value: "ZZ"')
    with pytest.raises(ProfileError) as err:
        parse_profile(text, "x.yaml")
    assert "x.yaml:4: frame.0.const.value" in str(err.value)
    assert "not hex bytes" in str(err.value)


def test_unknown_checksum_algorithm_is_refused() -> None:
    text = MINIMAL + "  - {type: checksum, algorithm: crc99, covers: [address]}\n"
    with pytest.raises(ProfileError, match=r"frame\.3\.checksum\.algorithm"):
        parse_profile(text, "x.yaml")


def test_checksum_over_an_unknown_segment_is_refused() -> None:
    text = MINIMAL + "  - {type: checksum, algorithm: sum8, covers: [adress]}\n"
    with pytest.raises(ProfileError, match="unknown 'adress'"):
        parse_profile(text)


def test_unknown_action_is_refused() -> None:
    text = MINIMAL + "inputs:\n  - {match: {data: {0: 1}}, action: call_nxt}\n"
    with pytest.raises(ProfileError, match="unknown action 'call_nxt'"):
        parse_profile(text)


def test_escape_must_cover_header_and_trailer_bytes() -> None:
    text = MINIMAL + '  - {type: const, name: end, value: "55"}\nescape: {table: {AA: "AB 01"}}\n'
    with pytest.raises(ProfileError, match="escape the frame byte 55"):
        parse_profile(text)


def test_undelimited_data_is_refused() -> None:
    text = MINIMAL.replace("{type: data, size: 1}", "{type: data}")
    with pytest.raises(ProfileError, match="const terminator"):
        parse_profile(text)


@pytest.mark.parametrize(
    ("length_of", "error"),
    [("[b, zz]", "unknown item 'zz'"), ("[b, a]", "runs backwards"), ("[a, b, b]", "first, last")],
)
def test_a_length_over_a_span_of_items_must_name_them_in_order(length_of: str, error: str) -> None:
    text = MINIMAL.replace("{type: data, size: 1}", "{type: data, max: 8}") + (
        "outputs:\n  o:\n    data:\n"
        f"      - {{type: u8, length_of: {length_of}}}\n"
        "      - {type: u8, name: a, value: 1}\n"
        "      - {type: u8, name: b, value: 2}\n"
    )
    with pytest.raises(ProfileError, match=error):
        parse_profile(text)
