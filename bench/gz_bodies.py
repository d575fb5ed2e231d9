#!/usr/bin/env python3
"""POST bodies for a gazette-only benchmark query, one JSON body per line (for rotate.lua).

    python3 bench/gz_bodies.py QUERY.graphql DATASET.json OUT.jsonl [--peer-dir DIR]

The query's variables are filled from the dataset, deterministically (seed 7). Which records
a variable takes is read from a comment line in the query file,

    # bench-vars: slug=article, query=search

or, without one, guessed from the variable's name (slug -> article, path -> section,
query/q -> search, tag -> tag). Kinds:
  article  slug of a published article: 1000 picks, exactly the peer benchmark's Q1 picks
  section  every section's path (file order)          author  every author's slug
  tag      a published article's tag, 1000 picks
  search   1000 search inputs from published articles' tags: a word, two words, a quoted
           phrase, a prefix (`senat*`), in turn
A query without variables gets one body.
"""
import argparse, json, os, random, re, sys

sys.dont_write_bytecode = True

KINDS = ("article", "section", "author", "tag", "search")
GUESS = {"slug": "article", "path": "section", "query": "search", "q": "search", "tag": "tag"}


def variables_of(query):
    spec = re.search(r"^\s*#\s*bench-vars:\s*(.+)$", query, re.M)
    if spec:
        pairs = [p.split("=", 1) for p in re.split(r"[,\s]+", spec.group(1).strip()) if p]
        out = {k.strip(): v.strip() for k, v in pairs}
    else:
        body = re.sub(r"#.*", "", query)
        m = re.search(r"^\s*(?:query|subscription)\b[^({]*\(([^)]*)\)", body)
        names = re.findall(r"\$(\w+)\s*:", m.group(1)) if m else []
        out = {}
        for n in names:
            if n not in GUESS:
                sys.exit(f"gz_bodies: cannot guess values for ${n}; add '# bench-vars: {n}=KIND' "
                         f"({'|'.join(KINDS)}) to the query file")
            out[n] = GUESS[n]
    for k, v in out.items():
        if v not in KINDS:
            sys.exit(f"gz_bodies: unknown kind {v!r} for ${k} (one of {', '.join(KINDS)})")
    return out


def values(kind, d, section_paths):
    pub = [x for x in d["articles"] if x.get("status") == "PUBLISHED"]
    rng = random.Random(7)
    if kind == "article":   # same draws as make_bodies.py's q1
        slugs = [x["slug"] for x in pub]
        return [rng.choice(slugs) for _ in range(1000)]
    if kind == "section":
        paths = section_paths(d["sections"])
        return [paths[s["slug"]] for s in d["sections"]]
    if kind == "author":
        return [a["slug"] for a in d["authors"]]
    tagged = [x for x in pub if x.get("tags")]
    if kind == "tag":
        return [rng.choice(rng.choice(tagged)["tags"]) for _ in range(1000)]
    out = []
    for i in range(1000):   # search
        tag = rng.choice(rng.choice(tagged)["tags"])
        words = tag.split()
        form = i % 4
        if form == 0:
            out.append(words[0])
        elif form == 1:
            out.append(tag)
        elif form == 2:
            out.append(f'"{tag}"')
        else:
            w = max(words, key=len)
            out.append(w[: max(3, len(w) - 3)] + "*")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("query")
    ap.add_argument("dataset")
    ap.add_argument("out")
    ap.add_argument("--peer-dir", default=os.environ.get("PEER_DIR", ""),
                    help="the shared bench folder (for its section-path rule)")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.peer_dir, "peer"))
    from load_peer import section_paths  # same path rule as the peer's loader
    with open(a.query, encoding="utf-8") as f:
        query = f.read()
    wanted = variables_of(query)
    with open(a.dataset, encoding="utf-8") as f:
        d = json.load(f)
    cols = {name: values(kind, d, section_paths) for name, kind in wanted.items()}
    n = max((len(v) for v in cols.values()), default=1)
    with open(a.out + ".tmp", "w", encoding="utf-8") as out:
        for i in range(n):
            body = {"query": query}
            if cols:
                body["variables"] = {k: v[i % len(v)] for k, v in cols.items()}
            out.write(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n")
    os.replace(a.out + ".tmp", a.out)
    print(f"{a.out}: {n} bodies ({', '.join(f'${k}={v}' for k, v in wanted.items()) or 'no variables'})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
