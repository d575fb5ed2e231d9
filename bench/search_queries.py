#!/usr/bin/env python3
"""GET paths for the search benchmark (bench/search.sh), one per line, for get_paths.lua.

    python3 bench/search_queries.py DATASET.json OUT.txt [--count 600] [--peer-dir DIR]

A results page as a reader's search box asks for it: ten results with score, highlight and
`totalCount`, over GraphQL GET. The queries are drawn (seed 11) from the vocabulary of the
published articles' headlines, so they find something, and cover what a search box gets:

  common    one of the 20 commonest headline words (each matches a large part of the archive)
  word      a word drawn by its frequency in headlines (mostly common, some rare)
  rare      a word of at most five headlines
  two       two words of one headline, unquoted (both must match, anywhere)
  phrase    two adjacent words of one headline, quoted
  prefix    the first four to six letters of a headline word, with `*`
  section   a word drawn by frequency, filtered to a top-level section

in turn, so every kind has the same share of the load. Each kind alone goes to OUT.KIND too.
"""
import argparse, collections, json, os, random, re, sys, urllib.parse

sys.dont_write_bytecode = True

QUERY = ("query S($q: String!, $f: ArticleFilter) { search(query: $q, first: 10, filter: $f) "
         "{ totalCount totalCountIsExact edges { score highlight node { slug headline dek "
         "publishedAt section { path name } } } } }")
KINDS = ("common", "word", "rare", "two", "phrase", "prefix", "section")


def words(s):
    return [w for w in re.split(r"[^\w]+", s.lower()) if w and not w.isdigit()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=600)
    a = ap.parse_args()
    with open(a.dataset, encoding="utf-8") as f:
        d = json.load(f)
    heads = [words(x["headline"]) for x in d["articles"] if x.get("status") == "PUBLISHED"]
    heads = [h for h in heads if len(h) >= 2]
    freq = collections.Counter(w for h in heads for w in set(h))
    common = [w for w, _ in freq.most_common(20)]
    vocab, weights = zip(*freq.items())
    rare = [w for w, n in freq.items() if n <= 5 and len(w) > 3] or list(vocab)
    tops = [s["slug"] for s in d["sections"] if not s.get("parent")]
    rng = random.Random(11)
    out = []
    for i in range(a.count):
        kind = KINDS[i % len(KINDS)]
        f = None
        if kind == "common":
            q = rng.choice(common)
        elif kind == "word":
            q = rng.choices(vocab, weights)[0]
        elif kind == "rare":
            q = rng.choice(rare)
        elif kind == "two":
            q = " ".join(rng.sample(rng.choice(heads), 2))
        elif kind == "phrase":
            h = rng.choice(heads)
            j = rng.randrange(len(h) - 1)
            q = f'"{h[j]} {h[j + 1]}"'
        elif kind == "prefix":
            w = rng.choice([w for w in rng.choice(heads) if len(w) >= 5] or ["minist"])
            q = w[: rng.randint(4, min(6, len(w) - 1))] + "*"
        else:
            q = rng.choices(vocab, weights)[0]
            f = {"section": rng.choice(tops)}
        variables = {"q": q, "f": f}
        qs = urllib.parse.urlencode({"query": QUERY, "variables": json.dumps(variables)})
        out.append((kind, f"/graphql?{qs}\n"))
    # The mix, and each kind alone (OUT.KIND) to tell which kind is slow.
    for name, lines in [(a.out, [p for _, p in out])] + [
            (f"{a.out}.{k}", [p for kk, p in out if kk == k]) for k in KINDS]:
        with open(name + ".tmp", "w", encoding="utf-8") as o:
            o.writelines(lines)
        os.replace(name + ".tmp", name)
    print(f"{a.out}: {len(out)} searches ({', '.join(KINDS)} in turn); commonest words: "
          f"{', '.join(common[:8])}", file=sys.stderr)


if __name__ == "__main__":
    main()
