"""The synthetic review data set."""

from __future__ import annotations

import csv
from collections import Counter

from mlpipes_constructs.reference import generate_reviews, write_reviews_csv


def test_the_same_seed_gives_the_same_reviews():
    assert generate_reviews(50, seed=3) == generate_reviews(50, seed=3)
    assert generate_reviews(50, seed=3) != generate_reviews(50, seed=4)


def test_ratings_cover_one_to_five_stars_with_both_labels_common():
    reviews = generate_reviews(1000)
    ratings = Counter(review.star_rating for review in reviews)
    positive_share = sum(ratings[r] for r in (4, 5)) / len(reviews)

    assert set(ratings) == {1, 2, 3, 4, 5}
    assert 0.5 < positive_share < 0.8


def test_wording_follows_the_rating():
    reviews = generate_reviews(1000)

    def share_mentioning(word: str, ratings: set[int]) -> float:
        chosen = [r for r in reviews if r.star_rating in ratings]
        return sum(word in r.review_text.lower() for r in chosen) / len(chosen)

    assert share_mentioning("recommend", {4, 5}) > 3 * share_mentioning("recommend", {1, 2})
    assert share_mentioning("refund", {1, 2}) > 3 * share_mentioning("refund", {4, 5})


def test_the_csv_has_the_columns_the_preprocessing_script_reads(tmp_path):
    path = write_reviews_csv(tmp_path / "raw" / "reviews.csv", count=20)

    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))

    assert len(rows) == 20
    assert set(rows[0]) == {"review_text", "star_rating"}
    assert rows[0]["review_text"] == generate_reviews(20)[0].review_text
