"""Prompt duplicate detection: normalization, shingles, MinHash, LSH bands. No database."""

import pytest

from annotation.dedup import (
    Duplicate,
    estimated_jaccard,
    exact_key,
    find_duplicates,
    jaccard,
    lsh_bands,
    minhash,
    normalize,
    shingles,
    signature,
)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


PHOTOSYNTHESIS = (
    "Explain how photosynthesis works in simple terms for a ten-year-old, and give one "
    "everyday example of a plant using sunlight to make its own food."
)
PHOTOSYNTHESIS_EDITED = PHOTOSYNTHESIS.replace("everyday", "ordinary")
PHOTOSYNTHESIS_REWORDED = PHOTOSYNTHESIS.replace("simple terms", "plain words")
SOURDOUGH = (
    "I am baking sourdough bread for the first time. My starter bubbles but the loaf comes "
    "out dense and flat. What should I change about proofing time and oven temperature?"
)
PYTHON_CSV = (
    "Write a Python function that reads a CSV file of orders, groups them by customer id, and "
    "returns the three customers with the highest total spend, with type hints and a docstring."
)
TAX_LETTER = (
    "Draft a polite letter to my landlord asking to fix the broken heating before winter, "
    "mentioning that I reported it twice already in September and October."
)


@pytest.mark.parametrize(
    "variant",
    [
        "explain how PHOTOSYNTHESIS works in simple terms for a ten-year-old, and give one everyday example of a plant using sunlight to make its own food.",
        "Explain  how photosynthesis works\n\tin simple terms for a ten-year-old, and give one everyday example of a plant using sunlight to make its own food.   ",
        "Explain how photosynthesis works: in simple terms, for a ten-year-old and give one everyday example (of a plant using sunlight to make its own food)!!",
        "Ｅｘｐｌａｉｎ how photosynthesis works in simple terms for a ten-year-old, and give one everyday example of a plant using sunlight to make its own food.",
    ],
    ids=["case", "whitespace", "punctuation", "full-width"],
)
def test_exact_repeat_ignores_case_whitespace_punctuation_and_compatibility_forms(variant):
    # given a prompt and a variant differing only in presentation
    original, repeat = user(PHOTOSYNTHESIS), user(variant)

    # when / then
    assert exact_key(repeat) == exact_key(original)
    assert find_duplicates(repeat, [(7, original)]) == [
        Duplicate(prompt_id=7, similarity=1.0, exact=True)
    ]


def test_normalize_writes_one_role_line_per_turn():
    messages = [
        {"role": "System", "content": "Be  brief."},
        {"role": "user", "content": "Ｈｅｌｌｏ,\nWorld… ﬁne?"},
    ]

    assert normalize(messages) == "system: be brief\nuser: hello world fine"


def test_one_word_edit_is_near_and_a_different_prompt_is_not():
    # given
    base = shingles(normalize(user(PHOTOSYNTHESIS)))

    # when
    edited = jaccard(base, shingles(normalize(user(PHOTOSYNTHESIS_EDITED))))
    different = jaccard(base, shingles(normalize(user(SOURDOUGH))))

    # then
    assert edited >= 0.8
    assert different < 0.3


def test_find_duplicates_orders_exact_first_then_near_and_drops_the_rest():
    # given candidates as an LSH lookup would return them
    candidates = [
        (1, user(SOURDOUGH)),
        (2, user(PHOTOSYNTHESIS_EDITED)),
        (3, user(PHOTOSYNTHESIS.upper())),
        (4, user(PHOTOSYNTHESIS_REWORDED)),
    ]

    # when
    found = find_duplicates(user(PHOTOSYNTHESIS), candidates)

    # then
    assert [dup.prompt_id for dup in found] == [3, 2, 4]
    assert found[0] == Duplicate(prompt_id=3, similarity=1.0, exact=True)
    assert all(not dup.exact and 0.8 <= dup.similarity < 1.0 for dup in found[1:])
    assert found[1].similarity > found[2].similarity


def test_find_duplicates_threshold_is_configurable():
    candidates = [(2, user(PHOTOSYNTHESIS_EDITED))]

    assert find_duplicates(user(PHOTOSYNTHESIS), candidates, threshold=0.99) == []
    with pytest.raises(ValueError):
        find_duplicates(user(PHOTOSYNTHESIS), candidates, threshold=0.0)


def test_multi_turn_is_not_an_exact_duplicate_of_its_last_message():
    # given
    single = user("And what about in winter?")
    multi = [
        {"role": "user", "content": "How often should I water a cactus?"},
        {"role": "assistant", "content": "About every two weeks in summer."},
        {"role": "user", "content": "And what about in winter?"},
    ]

    # then
    assert exact_key(single) != exact_key(multi)
    assert not any(dup.exact for dup in find_duplicates(multi, [(1, single)]))


def test_a_turn_cannot_forge_the_role_structure():
    # given one turn whose text spells out a second turn
    forged = user("hi\nassistant: hello")
    real = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]

    assert exact_key(forged) != exact_key(real)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (PHOTOSYNTHESIS, PHOTOSYNTHESIS_EDITED),
        (PHOTOSYNTHESIS, PHOTOSYNTHESIS_REWORDED),
        (PHOTOSYNTHESIS, SOURDOUGH),
        (PYTHON_CSV, PYTHON_CSV.replace("three", "five").replace("CSV", "JSON")),
        (TAX_LETTER, TAX_LETTER[: len(TAX_LETTER) // 2]),
    ],
)
def test_estimated_jaccard_is_close_to_exact(a, b):
    # given
    set_a, set_b = shingles(normalize(user(a))), shingles(normalize(user(b)))

    # when
    estimate = estimated_jaccard(minhash(set_a), minhash(set_b))

    # then 64 permutations: standard error <= 0.0625, so 0.15 is over two of them
    assert abs(estimate - jaccard(set_a, set_b)) <= 0.15


def test_near_duplicates_share_a_band_and_unrelated_prompts_share_none():
    # given
    prompts = [PHOTOSYNTHESIS, SOURDOUGH, PYTHON_CSV, TAX_LETTER]
    bands = {text: set(lsh_bands(signature(user(text)))) for text in prompts}

    # then each near repeat is a candidate of its original
    assert bands[PHOTOSYNTHESIS] & set(lsh_bands(signature(user(PHOTOSYNTHESIS_EDITED))))
    assert bands[PHOTOSYNTHESIS] & set(lsh_bands(signature(user(PHOTOSYNTHESIS_REWORDED))))
    # and no two unrelated prompts are
    for index, first in enumerate(prompts):
        for second in prompts[index + 1 :]:
            assert not bands[first] & bands[second], (first[:30], second[:30])


def test_band_keys_name_their_band():
    keys = lsh_bands(signature(user(PHOTOSYNTHESIS)))

    assert len(keys) == 16
    assert [key.split(":")[0] for key in keys] == [str(index) for index in range(16)]
    with pytest.raises(ValueError):
        lsh_bands(signature(user(PHOTOSYNTHESIS)), bands=10)


def test_signature_is_pinned_across_processes_and_versions():
    # Band keys are stored in the database, so a signature must not depend on the process
    # (PYTHONHASHSEED randomizes hash(), which this test process does by default) or drift
    # with a refactor. These values were computed once in another process; if this fails,
    # every stored key is orphaned and prompts must be re-indexed.
    messages = user("Explain how photosynthesis works, in simple terms for a ten-year-old.")

    assert signature(messages)[:4] == (
        25253289732949100,
        37417833739867878,
        54369205365114993,
        11515167429889293,
    )
    assert exact_key(messages) == "ac1c1389c0c16d02aeb37493e63cad58172612a1e8dea6c2340194f02e274959"


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("Привет, МИР! Как дела?", "user: привет мир как дела"),
        ("你好，世界。今天天气怎么样？", "user: 你好世界今天天气怎么样"),
        ("مرحبا، كيف حالك؟", "user: مرحبا كيف حالك"),
        ("Party time 🎉🎉 — let's go!", "user: party time 🎉🎉 lets go"),
        ("ＡＢＣ１２３", "user: abc123"),
    ],
)
def test_non_latin_scripts_and_emoji_are_kept(text, normalized):
    assert normalize(user(text)) == normalized


def test_non_latin_near_duplicates_are_found():
    # given a Russian and a Chinese prompt and a one-word edit of each
    russian = "Объясни, как работает фотосинтез, простыми словами для десятилетнего ребёнка, и приведи пример из жизни."
    chinese = "请用简单的语言向十岁的孩子解释光合作用是如何进行的，并举一个植物利用阳光为自己制造食物的日常例子。"
    candidates = [
        (1, user(russian.replace("пример", "образец"))),
        (2, user(chinese.replace("日常", "生活"))),
        (3, user("🌱🌞" * 10)),
    ]

    # when / then
    assert [dup.prompt_id for dup in find_duplicates(user(russian), candidates)] == [1]
    assert [dup.prompt_id for dup in find_duplicates(user(chinese), candidates)] == [2]
    assert exact_key(user("🌱🌞" * 10)) != exact_key(user("🌞🌱" * 10))


def test_short_text_is_one_shingle_and_empty_set_has_max_signature():
    assert len(shingles("abc")) == 1
    assert shingles("abc") == shingles("abc", k=5)
    assert len(shingles("abcdef", k=5)) == 2

    empty = minhash(set(), num_perm=8)
    assert len(set(empty)) == 1
    assert all(
        value > other for value, other in zip(empty, minhash(shingles("abc"), 8), strict=True)
    )
    assert jaccard(set(), set()) == 1.0
