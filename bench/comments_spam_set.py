#!/usr/bin/env python3
"""Scores a sample of the generated newsroom's comments plus a generated spam set through a
running gazette, and prints how many were approved, held and marked spam, by kind, with a
sample of reasons.

    python3 bench/comments_spam_set.py URL EDITOR_TOKEN DATASET.json [--sample 5000]

The server must trust 127.0.0.1 as a proxy (GAZETTE_TRUSTED_PROXIES=127.0.0.1), so that each
post can come from an address of its own, take comments on the dataset's articles
(GAZETTE_COMMENTS_CLOSE_AFTER_DAYS=0) and block what the spam set uses:
GAZETTE_COMMENTS_BLOCKED_WORDS="casino,viagra,crypto giveaway" and
GAZETTE_COMMENTS_BLOCKED_DOMAINS=cheap-pills.example. The spam set: link spam (4 links),
blocked words, a blocked domain, one text from 300 clients, bursts (20 clients posting 10
times at once), honeypots and posts made a second after the page loaded.
"""
import argparse, collections, datetime, json, random, re, sys, urllib.error, urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url"); ap.add_argument("token"); ap.add_argument("dataset")
    ap.add_argument("--sample", type=int, default=5000)
    a = ap.parse_args()
    rng = random.Random(17)
    data = json.load(open(a.dataset))
    published = [x["slug"] for x in data["articles"] if x.get("status", "PUBLISHED") == "PUBLISHED"]
    now = datetime.datetime.now(datetime.timezone.utc)
    iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
    ip_n = [0]

    def ip():
        ip_n[0] += 1
        if ip_n[0] & 255 == 0:  # no .0 host: each address once
            ip_n[0] += 1
        n = ip_n[0]
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    def post(kind, slug, body, addr=None):
        req = urllib.request.Request(f"{a.url}/api/v1/articles/{slug}/comments", method="POST",
                                     data=json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        req.add_header("X-Forwarded-For", addr or ip())
        try:
            with urllib.request.urlopen(req) as r:
                return kind, json.loads(r.read())["id"]
        except urllib.error.HTTPError as e:
            return kind, f"HTTP {e.code}"

    posts = []
    ham = data["comments"][: a.sample]
    for c in ham:
        name = c["authorName"]
        posts.append(post("newsroom comments", c["article"], {
            "author_name": name, "author_email": f"{name.lower().replace(' ', '.')}@example.org",
            "body": c["body"], "rendered_at": iso(now - datetime.timedelta(seconds=rng.randint(20, 600)))}))
    ok = lambda: iso(now - datetime.timedelta(seconds=90))
    slug = lambda: rng.choice(published)
    for i in range(500):
        links = " ".join(f"https://shop{i}-{k}.example/deal" for k in range(4))
        posts.append(post("link spam", slug(), {"author_name": f"Deals {i}", "body": f"Best offers here {links}", "rendered_at": ok()}))
    for i in range(300):
        w = rng.choice(["casino", "viagra", "crypto giveaway"])
        posts.append(post("blocked words", slug(), {"author_name": f"Lucky {i}", "body": f"Join the {w} tonight, friend number {i}", "rendered_at": ok()}))
    for i in range(100):
        posts.append(post("blocked domain", slug(), {"author_name": f"Pharm {i}", "body": f"Good read. See http://www.cheap-pills.example/{i}", "rendered_at": ok()}))
    for i in range(300):
        posts.append(post("one text from 300 clients", slug(), {"author_name": f"Fan {i}", "body": "Great article, very informative! Thanks for sharing this with us.", "rendered_at": ok()}))
    for c in range(20):
        addr = ip()
        for k in range(10):
            posts.append(post("bursts (20 clients x 10)", slug(), {"author_name": f"Burst {c}", "body": f"Point {k} of my argument about item {c}", "rendered_at": ok()}, addr))
    for i in range(100):
        posts.append(post("honeypot", slug(), {"author_name": f"Bot {i}", "body": f"Nice post {i}", "website": "http://bot.example", "rendered_at": ok()}))
    for i in range(100):
        # The page was loaded a second before this post (not when the run began).
        loaded = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        posts.append(post("posted 1 s after page load", slug(), {"author_name": f"Quick {i}", "body": f"Interesting point number {i}", "rendered_at": iso(loaded)}))

    table = collections.defaultdict(collections.Counter)
    reasons = collections.Counter()
    samples = {}
    for kind, cid in posts:
        if isinstance(cid, str):
            table[kind][cid] += 1
            continue
        req = urllib.request.Request(f"{a.url}/api/v1/comments/{cid}")
        req.add_header("Authorization", "Bearer " + a.token)
        c = json.loads(urllib.request.urlopen(req).read())
        status = {"APPROVED": "approved", "PENDING": "held", "SPAM": "spam"}[c["status"]]
        table[kind][status] += 1
        for r in c["reasons"]:
            general = re.sub(r"\d+", "N", r)
            reasons[general] += 1
            samples.setdefault(general, r)
    cols = ["approved", "held", "spam", "HTTP 429"]
    print("| posted | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    total = collections.Counter()
    for kind, n in table.items():
        total.update(n)
        print(f"| {kind} | " + " | ".join(str(n.get(c, 0)) for c in cols) + " |")
    print("| **all** | " + " | ".join(str(total.get(c, 0)) for c in cols) + " |")
    ham = table["newsroom comments"]
    spam = collections.Counter()
    for kind, n in table.items():
        if kind != "newsroom comments":
            spam.update(n)
    pct = lambda part, whole: f"{100 * part / max(whole, 1):.1f}%"
    print(f"\nnewsroom comments approved at once: {ham['approved']} of {sum(ham.values())} "
          f"({pct(ham['approved'], sum(ham.values()))}); spam set kept off the page "
          f"(held, spam or refused): {sum(spam.values()) - spam['approved']} of {sum(spam.values())} "
          f"({pct(sum(spam.values()) - spam['approved'], sum(spam.values()))})")
    print("\nreasons, most frequent first (one example each):")
    for general, n in reasons.most_common(15):
        print(f"- {n} × {samples[general]}")


if __name__ == "__main__":
    sys.exit(main())
