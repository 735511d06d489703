"""Which image types the gateway offers guacd for a browser (the tunnel's ``image`` query)."""

from webgate.protocols.guacamole.handshake import Display
from webgate.ws.guacamole import image_types


def test_a_browser_that_says_nothing_gets_the_default_offer() -> None:
    assert image_types([]) == Display.image == ("image/png", "image/jpeg", "image/webp")


def test_a_browser_without_webp_is_never_offered_webp_and_png_always_is() -> None:
    assert image_types(["image/jpeg"]) == ("image/png", "image/jpeg")
    assert image_types(["image/webp", "image/png"]) == ("image/png", "image/webp")


def test_unknown_types_are_not_passed_to_guacd() -> None:
    assert image_types(["image/gif", "x" * 5000, "image/jpeg,image/evil"]) == ("image/png",)
