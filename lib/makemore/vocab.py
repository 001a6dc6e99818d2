"""Words and characters: the names dataset, its character vocabulary and its splits.

Introduced in Lesson 2 (bigram); Lessons 3 to 6 use the same vocabulary and splits. The
vocabulary has 27 tokens: '.' (index 0) marks both the start and the end of a word, and the
letters a-z are 1..26.
"""
import random

from lib import data

BOUNDARY = "."


class Vocab:
    """Maps characters to integer ids (`stoi`) and back (`itos`); '.' is always id 0."""

    def __init__(self, chars):
        chars = sorted(set(chars))
        if BOUNDARY in chars:
            raise ValueError(f"{BOUNDARY!r} is reserved for the word boundary; remove it from the characters")
        if any(len(c) != 1 for c in chars):
            raise ValueError(f"a vocabulary holds single characters; got {[c for c in chars if len(c) != 1]}")
        self.itos = [BOUNDARY] + chars
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_words(cls, words):
        """The vocabulary of every character that occurs in `words` (27 tokens for names.txt)."""
        if isinstance(words, str):
            raise TypeError("from_words takes a list of words, not one string; wrap it: [word]")
        return cls("".join(words))

    def __len__(self):
        return len(self.itos)

    def __repr__(self):
        return f"Vocab({''.join(self.itos)!r})"

    def encode(self, word):
        """The ids of a word's characters (no boundary tokens added)."""
        try:
            return [self.stoi[c] for c in word]
        except KeyError as err:
            raise ValueError(
                f"character {err.args[0]!r} in {word!r} is not in the vocabulary "
                f"{''.join(self.itos)!r}; lower-case the word or build the vocabulary from words that contain it"
            ) from None

    def decode(self, ids):
        """The characters of a sequence of ids (ints or an integer tensor); '.' stays visible."""
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < len(self)]
        if bad:
            # Checked explicitly: a negative id would otherwise index itos from the end.
            raise ValueError(f"ids must be in 0..{len(self) - 1} for this vocabulary; got {bad}")
        return "".join(self.itos[i] for i in ids)


def load_words(name="names"):
    """The dataset's words, one per line, in file order (32,033 names for 'names')."""
    words = data.read_text(name).splitlines()
    words = [w.strip() for w in words if w.strip()]
    if not words:
        raise ValueError(f"the dataset {name!r} holds no words")
    return words


def split_words(words, seed=42, train=0.8, dev=0.1):
    """Shuffle a copy of `words` with `seed` and cut it into train / dev / test (80/10/10).

    `random.Random(42).shuffle` gives the same order as the lectures' `random.seed(42);
    random.shuffle(words)`, without touching the global random state. The cut points are
    the lecture's `int(0.8 * n)` and `int(0.9 * n)`.
    """
    if not words:
        raise ValueError("cannot split an empty word list")
    if not (0 <= train and 0 <= dev and train + dev <= 1):
        raise ValueError(f"train={train} and dev={dev} must be fractions with train + dev <= 1 "
                         "(the test set gets the rest)")
    words = list(words)
    random.Random(seed).shuffle(words)
    # round() so that 0.8 + 0.1 cuts where the lecture's 0.9 does (0.8 + 0.1 == 0.9000000000000001).
    n1, n2 = int(train * len(words)), int(round(train + dev, 12) * len(words))
    return words[:n1], words[n1:n2], words[n2:]
