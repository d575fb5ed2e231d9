#!/usr/bin/env python3
"""Precision@5 of gazette's related articles against the generator's hidden stories.

    python3 bench/related_quality.py NEWS.json TRUTH.json [URL] [--sample 500] [--seed 42]

NEWS.json is the import file of ../shared/bench/gen_dataset.py (only to know which articles
are published), TRUTH.json its --truth file ({slug: story}); URL is a gazette serving that
import (default http://127.0.0.1:8080/graphql). For each of SAMPLE published articles
(random.Random(SEED).sample of the sorted published slugs) it asks
`relatedArticles(slug, limit: 5)` and counts the results that belong to the same story.
The truth file is used here only, to measure: gazette never sees it.
"""
import argparse, json, random, sys, time, urllib.request

QUERY = "query($s: String!) { relatedArticles(slug: $s, limit: 5) { article { slug } score reasons } }"


def published_slugs(path):
    # The import file holds one article per line inside "articles"; a full json.load works too
    # but takes the memory of the whole file.
    slugs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip().lstrip(",")
            if line.startswith('{"slug"') and '"status": "PUBLISHED"' in line:
                slugs.append(json.loads(line)["slug"])
    return sorted(slugs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("news"); ap.add_argument("truth")
    ap.add_argument("url", nargs="?", default="http://127.0.0.1:8080/graphql")
    ap.add_argument("--sample", type=int, default=500)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--show", type=int, default=2, help="print the reasons of this many samples")
    a = ap.parse_args()
    truth = json.load(open(a.truth, encoding="utf-8"))
    pool = published_slugs(a.news)
    picks = random.Random(a.seed).sample(pool, a.sample)
    hits = total = short = 0
    t0 = time.time()
    for i, slug in enumerate(picks):
        body = json.dumps({"query": QUERY, "variables": {"s": slug}}).encode()
        req = urllib.request.Request(a.url, body, {"content-type": "application/json"})
        out = json.load(urllib.request.urlopen(req))
        if out.get("errors"):
            sys.exit(f"{slug}: {out['errors']}")
        rel = out["data"]["relatedArticles"]
        short += len(rel) < 5
        same = sum(1 for r in rel if truth.get(r["article"]["slug"]) == truth[slug])
        hits += same
        total += 5
        if i < a.show:
            print(f"# {slug} (story {truth[slug]}):")
            for r in rel:
                mark = "=" if truth.get(r["article"]["slug"]) == truth[slug] else "x"
                print(f"#   {mark} {r['score']:.3f} {r['article']['slug']}: {'; '.join(r['reasons'])}")
    print(f"precision@5 = {hits / total:.3f} over {len(picks)} published articles "
          f"(seed {a.seed}; {short} lists shorter than 5; {time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
