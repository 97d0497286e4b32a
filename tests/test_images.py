"""Images to the model: with vision, downscaled to 1024 px on the long side and at most N per step; without, a note
saying one was shown, with its size; SVG is never sent."""

from __future__ import annotations

import base64
import io

from PIL import Image

from jupyter_codeinterp.images import size_of
from jupyter_codeinterp.outputs import render_for_model


def png(width: int, height: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def shown(data: dict[str, str]) -> dict[str, object]:
    return {"output_type": "display_data", "data": data, "metadata": {}}


def test_a_large_image_is_downscaled_for_the_model() -> None:
    view = render_for_model([shown({"image/png": png(3000, 1000)})], limit=1000, vision=True)
    [(mime, data)] = view.images
    assert mime == "image/png" and size_of(mime, data) == (1024, 341)
    assert "[image 1: image/png, 3000x1000, attached below]" in view.text


def test_a_small_image_goes_as_it_is() -> None:
    small = png(200, 100)
    view = render_for_model([shown({"image/png": small})], limit=1000, vision=True)
    assert view.images == [("image/png", small)]


def test_at_most_n_images_per_step_are_attached_the_rest_are_named() -> None:
    outputs = [shown({"image/png": png(10 + i, 10)}) for i in range(6)]
    view = render_for_model(outputs, limit=5000, vision=True, max_images=4)
    assert len(view.images) == 4
    assert view.text.count("not attached: at most 4 per step") == 2


def test_without_vision_the_model_is_told_an_image_was_shown_and_its_size() -> None:
    view = render_for_model([shown({"image/png": png(640, 480), "text/plain": "<Figure>"})], limit=500, vision=False)
    assert view.images == [] and "[an image (image/png, 640x480) was shown to the user" in view.text


def test_svg_is_never_sent() -> None:
    view = render_for_model([shown({"image/svg+xml": "<svg/>"})], limit=500, vision=True)
    assert view.images == [] and "an SVG image was shown to the user" in view.text
