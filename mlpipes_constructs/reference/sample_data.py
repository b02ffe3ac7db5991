"""A small synthetic customer-review data set, generated deterministically.

Each review is a few short sentences about a product whose wording follows its star rating:
five- and four-star reviews mostly praise, one- and two-star reviews mostly complain, and
three-star reviews mix both with a lean to complaints. A share of off-sentiment sentences keeps
the task from being trivial, while a bag-of-words model still learns it well above chance.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

#: Columns of the CSV file, as the preprocessing script reads them.
COLUMNS = ("review_text", "star_rating")

_PRODUCTS = (
    "blender", "kettle", "headphones", "backpack", "lamp", "keyboard", "jacket", "toaster",
    "phone case", "water bottle", "desk chair", "charger",
)  # fmt: skip
_PRAISE = (
    "The {product} works perfectly.",
    "Excellent quality, I love this {product}.",
    "Great value for the price.",
    "Highly recommend it to anyone.",
    "Sturdy, well made and looks beautiful.",
    "Arrived quickly and exceeded my expectations.",
    "Fantastic {product}, would buy again.",
    "Very comfortable and easy to use.",
    "My family is delighted with it.",
    "Five stars, simply awesome.",
)
_COMPLAINTS = (
    "The {product} broke after a week.",
    "Terrible quality, very disappointed.",
    "Waste of money, I want a refund.",
    "Stopped working and support never answered.",
    "Cheap plastic that feels flimsy.",
    "Arrived damaged and missing parts.",
    "Awful {product}, do not buy.",
    "Uncomfortable and hard to use.",
    "Returned it the next day.",
    "Worst purchase this year.",
)
_NEUTRAL = (
    "I bought the {product} last month.",
    "It came in a plain box.",
    "I use it most days.",
    "The color is as pictured.",
    "Delivery took four days.",
)
# Probability that a sentiment sentence praises rather than complains, by star rating.
_PRAISE_PROBABILITY = {1: 0.08, 2: 0.15, 3: 0.4, 4: 0.82, 5: 0.92}
# Ratings are skewed positive, as in most review sites.
_RATING_WEIGHTS = {1: 0.12, 2: 0.1, 3: 0.13, 4: 0.25, 5: 0.4}


@dataclass(frozen=True)
class Review:
    """One review: free text and a star rating from 1 to 5."""

    review_text: str
    star_rating: int


def generate_reviews(count: int = 2000, seed: int = 7) -> list[Review]:
    """``count`` synthetic reviews; the same ``seed`` always gives the same reviews."""
    rng = random.Random(seed)
    ratings = list(_RATING_WEIGHTS)
    weights = list(_RATING_WEIGHTS.values())
    return [_review(rng, rng.choices(ratings, weights)[0]) for _ in range(count)]


def _review(rng: random.Random, rating: int) -> Review:
    product = rng.choice(_PRODUCTS)
    sentences = [rng.choice(_NEUTRAL)] if rng.random() < 0.5 else []
    for _ in range(rng.randint(1, 3)):
        praises = rng.random() < _PRAISE_PROBABILITY[rating]
        sentences.append(rng.choice(_PRAISE if praises else _COMPLAINTS))
    rng.shuffle(sentences)
    text = " ".join(sentences).format(product=product)
    return Review(review_text=text, star_rating=rating)


def write_reviews_csv(path: Path, count: int = 2000, seed: int = 7) -> Path:
    """Write ``generate_reviews(count, seed)`` to ``path`` as CSV with a header; return path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for review in generate_reviews(count, seed):
            writer.writerow((review.review_text, review.star_rating))
    return path
