#!/usr/bin/env python3
"""The generated newsroom as a WordPress export (WXR 1.2) and a Ghost export (JSON, Ghost 5),
so `bench/import.sh` can time `gazette import --from wordpress|ghost` on the same newsroom
as the native import (Python standard library only).

    python3 bench/gen_foreign.py news_50000.json --wxr news_50000.wxr --ghost news_50000.ghost.json

Reads a gazette import file (as `../shared/bench/gen_dataset.py` writes it) and writes, for
each article, a post with the same headline, dek, body, section, byline, tags, status and
times; WordPress posts also carry their comments (threaded) and a featured image as an
attachment, half of them in block-editor markup and half classic HTML, as a site that
switched editors has. Sections become categories (hierarchy kept) in WordPress and primary
tags in Ghost. The same input gives byte-identical outputs.
"""
import argparse, html, json, re
from collections import defaultdict
from datetime import datetime

WP_STATUS = {"PUBLISHED": "publish", "SCHEDULED": "future", "DRAFT": "draft", "IN_REVIEW": "pending"}
GHOST_STATUS = {"PUBLISHED": "published", "SCHEDULED": "scheduled"}
SITE = "https://news.example"


def cdata(s):
    return "<![CDATA[" + (s or "").replace("]]>", "]]]]><![CDATA[>") + "]]>"


def wp_date(iso):
    if not iso:
        return "0000-00-00 00:00:00"
    return datetime.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S").strftime("%Y-%m-%d %H:%M:%S")


def block_html(b, gutenberg):
    kind, v = next(iter(b.items()))
    if kind == "paragraph":
        h = f"<p>{v['html']}</p>"
    elif kind == "heading":
        lvl = v["level"]
        h = f"<h{lvl}>{html.escape(v['text'], quote=False)}</h{lvl}>"
        if gutenberg:
            return f'<!-- wp:heading {{"level":{lvl}}} -->\n{h}\n<!-- /wp:heading -->' if lvl != 2 else f"<!-- wp:heading -->\n{h}\n<!-- /wp:heading -->"
    elif kind == "list":
        tag = "ol" if v["ordered"] else "ul"
        h = f"<{tag}>" + "".join(f"<li>{i}</li>" for i in v["items"]) + f"</{tag}>"
        if gutenberg:
            attrs = ' {"ordered":true}' if v["ordered"] else ""
            return f"<!-- wp:list{attrs} -->\n{h}\n<!-- /wp:list -->"
    elif kind == "quote":
        cite = f"<cite>{html.escape(v['attribution'])}</cite>" if v.get("attribution") else ""
        h = f"<blockquote><p>{v['html']}</p>{cite}</blockquote>"
        if gutenberg:
            return f'<!-- wp:quote -->\n<blockquote class="wp-block-quote"><p>{v["html"]}</p>{cite}</blockquote>\n<!-- /wp:quote -->'
    elif kind == "image":
        cap = f"<figcaption>{html.escape(v.get('caption') or '')}</figcaption>" if v.get("caption") else ""
        h = f'<figure><img src="{html.escape(v["url"])}" alt="{html.escape(v.get("alt") or "")}" />{cap}</figure>'
        if gutenberg:
            return f'<!-- wp:image -->\n<figure class="wp-block-image">{h[8:-9]}</figure>\n<!-- /wp:image -->'
    elif kind == "embed":
        if gutenberg:
            u = v["url"]
            return (f'<!-- wp:embed {{"url":"{u}","type":"video","providerNameSlug":"youtube"}} -->\n'
                    f'<figure class="wp-block-embed"><div class="wp-block-embed__wrapper">\n{u}\n</div></figure>\n<!-- /wp:embed -->')
        return v["url"]
    else:
        return ""
    if gutenberg and kind == "paragraph":
        return f"<!-- wp:paragraph -->\n{h}\n<!-- /wp:paragraph -->"
    return h


def body_html(blocks, gutenberg):
    return "\n\n".join(block_html(b, gutenberg) for b in blocks)


def write_wxr(d, path):
    sections = {s["slug"]: s for s in d.get("sections", [])}
    authors = d.get("authors", [])
    by_article = defaultdict(list)
    for c in d.get("comments", []):
        by_article[c["article"]].append(c)
    tag_names = {}
    for a in d["articles"]:
        for t in a.get("tags", []):
            tag_names.setdefault(t, len(tag_names) + 1000)
    with open(path, "w", encoding="utf-8") as f:
        w = f.write
        w('<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0"\n'
          '\txmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"\n'
          '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
          '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
          '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
          '\txmlns:wp="http://wordpress.org/export/1.2/"\n>\n<channel>\n'
          f"\t<title>The Generated Gazette</title>\n\t<link>{SITE}</link>\n"
          "\t<wp:wxr_version>1.2</wp:wxr_version>\n"
          f"\t<wp:base_site_url>{SITE}</wp:base_site_url>\n\t<wp:base_blog_url>{SITE}</wp:base_blog_url>\n")
        for i, a in enumerate(authors, 1):
            first, _, last = a["name"].partition(" ")
            w(f"\t<wp:author><wp:author_id>{i}</wp:author_id><wp:author_login>{cdata('login' + str(i))}</wp:author_login>"
              f"<wp:author_email>{cdata('a' + str(i) + '@news.example')}</wp:author_email>"
              f"<wp:author_display_name>{cdata(a['name'])}</wp:author_display_name>"
              f"<wp:author_first_name>{cdata(first)}</wp:author_first_name><wp:author_last_name>{cdata(last)}</wp:author_last_name></wp:author>\n")
        login = {a["slug"]: f"login{i}" for i, a in enumerate(authors, 1)}
        for i, s in enumerate(sections.values(), 1):
            w(f"\t<wp:category><wp:term_id>{i}</wp:term_id><wp:category_nicename>{cdata(s['slug'])}</wp:category_nicename>"
              f"<wp:category_parent>{cdata(s.get('parent') or '')}</wp:category_parent><wp:cat_name>{cdata(s['name'])}</wp:cat_name>"
              f"<wp:category_description>{cdata(s.get('description') or '')}</wp:category_description></wp:category>\n")
        for name, tid in tag_names.items():
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            w(f"\t<wp:tag><wp:term_id>{tid}</wp:term_id><wp:tag_slug>{cdata(slug)}</wp:tag_slug><wp:tag_name>{cdata(name)}</wp:tag_name></wp:tag>\n")
        post_id = 10
        for n, a in enumerate(d["articles"]):
            post_id += 2
            pid, att = post_id, post_id + 1
            img = a.get("featuredImage")
            if img:
                w(f"\t<item><title>{cdata(img.get('alt') or 'image')}</title><link>{SITE}/?attachment_id={att}</link>"
                  f"<dc:creator>{cdata(login.get(a['authors'][0], 'login1'))}</dc:creator><guid isPermaLink=\"false\">{html.escape(img['url'])}</guid>"
                  f"<content:encoded>{cdata('')}</content:encoded><excerpt:encoded>{cdata(img.get('caption') or '')}</excerpt:encoded>"
                  f"<wp:post_id>{att}</wp:post_id><wp:post_type>{cdata('attachment')}</wp:post_type><wp:status>{cdata('inherit')}</wp:status>"
                  f"<wp:attachment_url>{cdata(img['url'])}</wp:attachment_url>"
                  f"<wp:postmeta><wp:meta_key>{cdata('_wp_attachment_image_alt')}</wp:meta_key><wp:meta_value>{cdata(img.get('alt') or '')}</wp:meta_value></wp:postmeta></item>\n")
            status = WP_STATUS.get(a["status"], "draft")
            date = a.get("publishedAt") or a.get("scheduledAt") or a.get("createdAt")
            path = "/".join(date[:10].split("-")) if date else "draft"
            sec = a["section"].split("/")[-1]
            cats = f'<category domain="category" nicename="{sec}">{cdata(sections.get(sec, {}).get("name", sec))}</category>'
            for t in a.get("tags", []):
                slug = re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-")
                cats += f'<category domain="post_tag" nicename="{slug}">{cdata(t)}</category>'
            w(f"\t<item><title>{cdata(a['headline'])}</title><link>{SITE}/{path}/{a['slug']}/</link>"
              f"<dc:creator>{cdata(login.get(a['authors'][0], 'login1'))}</dc:creator>"
              f"<guid isPermaLink=\"false\">{SITE}/?p={pid}</guid>"
              f"<content:encoded>{cdata(body_html(a['body'], n % 2 == 0))}</content:encoded>"
              f"<excerpt:encoded>{cdata(a.get('dek') or '')}</excerpt:encoded>"
              f"<wp:post_id>{pid}</wp:post_id><wp:post_date>{cdata(wp_date(date))}</wp:post_date>"
              f"<wp:post_date_gmt>{cdata(wp_date(date) if status != 'draft' else '0000-00-00 00:00:00')}</wp:post_date_gmt>"
              f"<wp:post_modified>{cdata(wp_date(a.get('updatedAt')))}</wp:post_modified>"
              f"<wp:post_modified_gmt>{cdata(wp_date(a.get('updatedAt')))}</wp:post_modified_gmt>"
              f"<wp:post_name>{cdata(a['slug'])}</wp:post_name><wp:status>{cdata(status)}</wp:status>"
              f"<wp:post_type>{cdata('post')}</wp:post_type><wp:post_password>{cdata('')}</wp:post_password>{cats}")
            if img:
                w(f"<wp:postmeta><wp:meta_key>{cdata('_thumbnail_id')}</wp:meta_key><wp:meta_value>{cdata(str(att))}</wp:meta_value></wp:postmeta>")
            for c in by_article.get(a["slug"], []):
                cid = re.sub(r"\D", "", c["key"]) or "1"
                parent = re.sub(r"\D", "", c.get("parent") or "") or "0"
                approved = {"APPROVED": "1", "PENDING": "0", "SPAM": "spam"}.get(c.get("status", "APPROVED"), "trash")
                w(f"<wp:comment><wp:comment_id>{cid}</wp:comment_id><wp:comment_author>{cdata(c['authorName'])}</wp:comment_author>"
                  f"<wp:comment_date>{cdata(wp_date(c.get('createdAt')))}</wp:comment_date><wp:comment_date_gmt>{cdata(wp_date(c.get('createdAt')))}</wp:comment_date_gmt>"
                  f"<wp:comment_content>{cdata(c['body'])}</wp:comment_content><wp:comment_approved>{cdata(approved)}</wp:comment_approved>"
                  f"<wp:comment_type>{cdata('comment')}</wp:comment_type><wp:comment_parent>{parent}</wp:comment_parent></wp:comment>")
            w("</item>\n")
        w("</channel>\n</rss>\n")


def ghost_time(iso):
    return iso[:19] + ".000Z" if iso else None


def write_ghost(d, path):
    sections = d.get("sections", [])
    authors = d.get("authors", [])
    tag_ids, tags = {}, []
    for s in sections:
        tag_ids[s["slug"]] = f"t{len(tags):023d}"
        tags.append({"id": tag_ids[s["slug"]], "name": s["name"], "slug": s["slug"],
                     "description": s.get("description"), "visibility": "public"})
    user_ids = {a["slug"]: f"u{i:023d}" for i, a in enumerate(authors)}
    users = [{"id": user_ids[a["slug"]], "name": a["name"], "slug": a["slug"], "bio": a.get("bio"),
              "profile_image": a.get("avatarUrl")} for a in authors]
    posts_tags, posts_authors, posts_meta = [], [], []
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"db":[{"meta":{"exported_on":1764547200000,"version":"5.75.2"},"data":{"posts":[')
        for n, a in enumerate(d["articles"]):
            pid = f"p{n:023d}"
            img = a.get("featuredImage") or {}
            date = a.get("publishedAt") or a.get("scheduledAt")
            post = {"id": pid, "uuid": f"00000000-0000-4000-8000-{n:012d}", "title": a["headline"], "slug": a["slug"],
                    "mobiledoc": None, "lexical": None, "html": body_html(a["body"], False),
                    "feature_image": img.get("url"), "type": "post",
                    "status": GHOST_STATUS.get(a["status"], "draft"), "visibility": "public",
                    "created_at": ghost_time(a.get("createdAt")), "updated_at": ghost_time(a.get("updatedAt")),
                    "published_at": ghost_time(date), "custom_excerpt": a.get("dek")}
            f.write(("," if n else "") + "\n" + json.dumps(post, ensure_ascii=False))
            sec = a["section"].split("/")[-1]
            order = 0
            if sec in tag_ids:
                posts_tags.append({"id": f"pt{len(posts_tags)}", "post_id": pid, "tag_id": tag_ids[sec], "sort_order": 0})
                order = 1
            for t in a.get("tags", []):
                slug = re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-")
                if slug not in tag_ids:
                    tag_ids[slug] = f"t{len(tags):023d}"
                    tags.append({"id": tag_ids[slug], "name": t, "slug": slug, "visibility": "public"})
                posts_tags.append({"id": f"pt{len(posts_tags)}", "post_id": pid, "tag_id": tag_ids[slug], "sort_order": order})
                order += 1
            for i, au in enumerate(a["authors"]):
                if au in user_ids:
                    posts_authors.append({"id": f"pa{len(posts_authors)}", "post_id": pid, "author_id": user_ids[au], "sort_order": i})
            if img:
                posts_meta.append({"id": f"pm{len(posts_meta)}", "post_id": pid, "feature_image_alt": img.get("alt"),
                                   "feature_image_caption": img.get("caption")})
        f.write("\n]")
        for key, rows in (("tags", tags), ("users", users), ("posts_tags", posts_tags),
                          ("posts_authors", posts_authors), ("posts_meta", posts_meta)):
            f.write(f',"{key}":' + json.dumps(rows, ensure_ascii=False))
        f.write("}}]}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source", help="a gazette import file")
    ap.add_argument("--wxr", help="write the WordPress export here")
    ap.add_argument("--ghost", help="write the Ghost export here")
    args = ap.parse_args()
    with open(args.source, encoding="utf-8") as f:
        d = json.load(f)
    if args.wxr:
        write_wxr(d, args.wxr)
    if args.ghost:
        write_ghost(d, args.ghost)


if __name__ == "__main__":
    main()
