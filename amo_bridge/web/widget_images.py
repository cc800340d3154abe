"""Draw the widget's logo images in the sizes amoCRM requires (AMOCRM.md, Widgets).

The PNGs are committed under ``widget/images/``; this regenerates them (Pillow, a ``dev``
extra): ``python -m amo_bridge.web.widget_images``. The build never needs Pillow.
"""

from __future__ import annotations

from pathlib import Path

#: name → (width, height), as amoCRM documents them.
LOGOS = {
    "logo_main.png": (400, 272),
    "logo_small.png": (108, 108),
    "logo_medium.png": (240, 84),
    "logo_min.png": (84, 84),
    "logo.png": (130, 100),
}
IMAGES_DIR = Path(__file__).resolve().parent / "widget" / "images"
BLUE, GREEN, WHITE = (21, 101, 192), (46, 125, 50), (255, 255, 255)


def draw_logo(size: tuple[int, int]):
    from PIL import Image, ImageDraw, ImageFont

    width, height = size
    image = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(image)
    # A bridge: an arch over a deck, the two shores in amoCRM blue and ledger green.
    side = min(width, height)
    wide = width >= height * 1.8  # a banner: mark on the left, name on the right
    mark_w = int(side * (0.9 if wide else 0.8))
    left = int(side * 0.08) if wide else (width - mark_w) // 2
    top = (height - int(mark_w * 0.62)) // 2 if not wide or height < 120 else int(height * 0.18)
    deck_y = top + int(mark_w * 0.5)
    line = max(2, side // 18)
    draw.arc([left, top, left + mark_w, top + mark_w], 180, 360, fill=BLUE, width=line)
    draw.line([left - line, deck_y, left + mark_w + line, deck_y], fill=GREEN, width=line)
    for i in range(1, 5):
        x = left + mark_w * i // 5
        draw.line([x, top + _arch_y(i / 5, mark_w), x, deck_y], fill=BLUE, width=max(1, line // 2))
    if wide or height >= 200:
        text = "amo-bridge"
        font_size = max(12, int(height * (0.26 if wide else 0.14)))
        font = _font(ImageFont, font_size)
        box = draw.textbbox((0, 0), text, font=font)
        if wide:
            x, y = left + mark_w + int(side * 0.15), (height - (box[3] - box[1])) // 2 - box[1]
        else:
            x, y = (width - (box[2] - box[0])) // 2, deck_y + int(height * 0.12)
        draw.text((x, y), text, fill=BLUE, font=font)
    return image


def _arch_y(fraction: float, diameter: int) -> int:
    # Height of the arch above the deck at a fraction of its span (a half circle).
    radius = diameter / 2
    dx = abs(fraction * diameter - radius)
    return int(radius - (radius ** 2 - dx ** 2) ** 0.5)


def _font(image_font, size: int):
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return image_font.truetype(name, size)
        except OSError:
            continue
    return image_font.load_default()


def write_logos(directory: Path = IMAGES_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, size in LOGOS.items():
        path = directory / name
        draw_logo(size).save(path, format="PNG", optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a developer's tool
    for written_path in write_logos():
        print(written_path)
