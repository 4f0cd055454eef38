"""A synthetic stand-in for the face CSV, with the same schema, so the course runs without the real data.

The faces are drawn, not sampled from real people: an oval head on a background, eyes, a mouth and hair.
Age changes proportions (children: rounder heads, big low eyes), wrinkles and hair colour; gender changes
hair length and jaw; ethnicity changes skin tone. Pose, lighting, per-face variation and noise make the
labels learnable but far from trivial, so architecture and optimizer choices visibly matter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SIDE = 48
# Shares of the real file (see data/README.md), so class balance looks like the real thing.
AGE_RANGES = (1, 10, 20, 40, 60, 100)  # synthetic ages are drawn in [edge, next edge) of their bin
AGE_BIN_SHARES = (3062, 1531, 11880, 4544, 2688)
ETHNICITY_SHARES = (10078, 4526, 3434, 3975, 1692)
GENDER_SHARES = (12391, 11314)
SKIN_TONE = np.array([0.74, 0.36, 0.64, 0.50, 0.58])
_CHUNK = 2000


def _shares(counts: tuple[int, ...]) -> np.ndarray:
    c = np.asarray(counts, dtype=float)
    return c / c.sum()


def sample_labels(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Ages, ethnicities and genders with the real file's marginal shares."""
    bins = rng.choice(len(AGE_BIN_SHARES), size=n, p=_shares(AGE_BIN_SHARES))
    lo = np.asarray(AGE_RANGES[:-1])[bins]
    hi = np.asarray(AGE_RANGES[1:])[bins]
    age = rng.integers(lo, hi)
    ethnicity = rng.choice(5, size=n, p=_shares(ETHNICITY_SHARES))
    gender = rng.choice(2, size=n, p=_shares(GENDER_SHARES))
    return pd.DataFrame({"age": age, "ethnicity": ethnicity, "gender": gender})


def render_faces(age: np.ndarray, ethnicity: np.ndarray, gender: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one 48x48 uint8 face per label triple (vectorised over faces)."""
    n = len(age)
    yy, xx = np.mgrid[-1 : 1 : SIDE * 1j, -1 : 1 : SIDE * 1j]
    yy, xx = yy[None], xx[None]

    def col(values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=float)[:, None, None]

    child = col(np.clip((18 - age) / 16, 0, 1))
    old = col(np.clip((age - 30) / 50, 0, 1.3))
    female = col(gender)
    jitter = lambda scale: col(rng.normal(0, scale, n))  # noqa: E731 - tiny local helper

    cx, cy = jitter(0.07), jitter(0.07)
    x, y = xx - cx, yy - cy
    head_w = 0.56 + 0.07 * child - 0.05 * female + jitter(0.04)
    head_h = 0.76 - 0.06 * child + jitter(0.04)
    head = ((x / head_w) ** 2 + (y / head_h) ** 2) < 1
    skin = col(SKIN_TONE[ethnicity]) + jitter(0.07)

    background = col(rng.uniform(0.15, 0.85, n)) + 0.15 * col(rng.normal(0, 1, n)) * xx
    image = np.where(head, skin, background)

    # Hair: a cap on top for everyone, long sides for most women; greys with age.
    hair_tone = np.clip(0.12 + 0.55 * old * (1 + jitter(0.3)) + jitter(0.05), 0, 1)
    cap = head & (y < -head_h * (0.45 + 0.1 * child + jitter(0.08)))
    long_hair = (female * (rng.random(n) < 0.8)[:, None, None]) > 0.5
    sides = long_hair & (np.abs(x) > head_w * 0.78) & (np.abs(x) < head_w * 1.25) & (y > -0.5) & (y < 0.75)
    image = np.where(cap | sides, hair_tone, image)

    # Eyes: children's are bigger and lower in the face.
    eye_y = -0.12 + 0.16 * child + jitter(0.03)
    eye_dx = 0.26 + jitter(0.02)
    eye_r = 0.075 + 0.045 * child + jitter(0.01)
    for side in (-1, 1):
        eye = ((x - side * eye_dx) ** 2 + (y - eye_y) ** 2) < eye_r**2
        image = np.where(eye & head, 0.1, image)

    # Mouth: a curve that flattens and sags with age; a wider jaw for men.
    mouth_y = 0.42 + 0.05 * old - 0.06 * child + jitter(0.03)
    smile = 0.25 * (1 - old) + jitter(0.12)
    mouth = (np.abs(y - (mouth_y + smile * x**2)) < 0.035) & (np.abs(x) < 0.22 + 0.05 * (1 - female))
    image = np.where(mouth & head, skin * 0.45, image)

    # Wrinkles: horizontal forehead lines whose contrast grows with age.
    wrinkle = 0.09 * np.clip(old - 0.3, 0, None) * np.sin(yy * 40 + jitter(3.0)) * (y < -0.25) * (y > -0.6)
    image = image - np.where(head, wrinkle, 0)

    lighting = 1 + 0.25 * col(rng.normal(0, 1, n)) * xx + 0.15 * col(rng.normal(0, 1, n)) * yy
    image = image * lighting + rng.normal(0, 0.07, image.shape)
    return np.clip(image * 255, 0, 255).astype(np.uint8)


def synthetic_arrays(n: int = 6000, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` synthetic faces as the arrays the CSV reader returns (images uint8 (n, 48, 48), labels, names).

    Deterministic for a given ``seed``. No text on the way: the loader uses these directly.
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    labels = sample_labels(n, rng)
    columns = [labels[c].to_numpy() for c in ("age", "ethnicity", "gender")]
    images = np.concatenate([render_faces(*(c[i : i + _CHUNK] for c in columns), rng) for i in range(0, n, _CHUNK)])
    return {
        "images": images,
        **{c: labels[c].to_numpy(dtype=np.int64) for c in ("age", "ethnicity", "gender")},
        "img_name": np.array([f"synthetic_{seed}_{i:06d}.png" for i in range(n)]),
    }


def make_synthetic_faces(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """The same faces in the real CSV's schema (``age,ethnicity,gender,img_name,pixels``), for writing a CSV
    file: ``make_synthetic_faces(500).to_csv("data/my_faces.csv", index=False)``."""
    arrays = synthetic_arrays(n, seed)
    table = pd.DataFrame({c: arrays[c] for c in ("age", "ethnicity", "gender", "img_name")})
    table["pixels"] = pixels_to_strings(arrays["images"].reshape(n, -1))
    return table


def pixels_to_strings(pixels: np.ndarray) -> list[str]:
    """Format rows of uint8 pixels as the CSV's space-separated text."""
    table = np.array([str(v) for v in range(256)], dtype=object)
    return [" ".join(row) for row in table[pixels]]
