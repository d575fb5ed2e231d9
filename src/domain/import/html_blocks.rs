//! HTML from another system (WordPress's classic and block-editor content, Ghost's `html`)
//! into gazette's body blocks.
//!
//! The HTML is tokenized by html5ever (the parser the sanitiser, ammonia, is built on), and
//! a small state machine turns block-level elements into blocks: `p` → paragraph, `h1`–`h6`
//! → heading (`h1` becomes level 2: the headline is the page's level 1), `ul`/`ol` → list
//! (nested lists flattened into their parent), `blockquote` → quote (`cite` as attribution),
//! `figure`/`img` → image (`figcaption` as caption), `iframe`, block-editor embeds and
//! tweet/Instagram blockquotes → embed. Inline HTML is kept and later cleaned to the
//! allow-list by the same rules as every other way in (`content::check`).
//!
//! Nothing is dropped silently: markup without an equivalent is kept as paragraphs of its
//! text (tables row by row, `pre` as code) or, when it has no text worth keeping (scripts,
//! forms, separators), dropped — and either way counted in [`Notes`], which the import
//! report lists per article. WordPress content is first run through [`wordpress_prepare`]:
//! `[caption]` and `[embed]` shortcodes become figures and embeds, other shortcodes are
//! removed (keeping any text they enclose) and reported, and classic content gets
//! WordPress's automatic paragraphs (a blank line between paragraphs, a newline a `<br>`).

use std::cell::RefCell;
use std::collections::BTreeMap;

use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts, states,
};

use crate::domain::blocks::{Block, Embed, Heading, Image, List, MAX_LIST_ITEMS, Paragraph, Quote};
use crate::domain::html::{escape, is_web_url, to_text};

/// What a conversion could not carry over exactly, by what it was: `kept as text` (its text
/// is in paragraphs), `dropped`, or `shortcode`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Notes {
    /// `(what, element)` → how many times: `("kept as text", "table")`.
    pub counts: BTreeMap<(&'static str, String), usize>,
}

impl Notes {
    fn add(&mut self, what: &'static str, element: impl Into<String>) {
        *self.counts.entry((what, element.into())).or_default() += 1;
    }

    /// Whether everything was carried over.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// One line for the report: `kept as text: table ×2; dropped: script ×1`.
    pub fn describe(&self) -> String {
        let mut by_what: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for ((what, el), n) in &self.counts {
            let el = if *what == "shortcode" {
                format!("[{el}]")
            } else {
                format!("<{el}>")
            };
            by_what.entry(what).or_default().push(format!("{el} ×{n}"));
        }
        by_what
            .into_iter()
            .map(|(what, els)| format!("{what}: {}", els.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// How to read the HTML.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Line breaks are paragraphs and `<br>`s (WordPress classic content).
    pub autop: bool,
    /// Where relative image and embed URLs point (`https://old.example.com`).
    pub base_url: Option<&'a str>,
}

/// A token as the converter needs it.
#[derive(Debug, Clone)]
enum Tok {
    Start(String, Vec<(String, String)>),
    End(String),
    Text(String),
    Comment(String),
}

struct Sink(RefCell<Vec<Tok>>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut out = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) => {
                let name = tag.name.to_string();
                match tag.kind {
                    TagKind::StartTag => {
                        let attrs = tag
                            .attrs
                            .iter()
                            .map(|a| (a.name.local.to_string(), a.value.to_string()))
                            .collect();
                        out.push(Tok::Start(name.clone(), attrs));
                        if tag.self_closing && !is_void(&name) {
                            out.push(Tok::End(name.clone()));
                        }
                        // The contents of these are text, not markup.
                        return match name.as_str() {
                            "script" => TokenSinkResult::RawData(states::RawKind::ScriptData),
                            "style" | "iframe" | "xmp" | "noembed" | "noframes" => {
                                TokenSinkResult::RawData(states::RawKind::Rawtext)
                            }
                            "textarea" | "title" => {
                                TokenSinkResult::RawData(states::RawKind::Rcdata)
                            }
                            _ => TokenSinkResult::Continue,
                        };
                    }
                    TagKind::EndTag => out.push(Tok::End(name)),
                }
            }
            Token::CharacterTokens(t) => match out.last_mut() {
                Some(Tok::Text(prev)) => prev.push_str(&t),
                _ => out.push(Tok::Text(t.to_string())),
            },
            Token::CommentToken(c) => out.push(Tok::Comment(c.to_string())),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "br" | "img"
            | "hr"
            | "input"
            | "source"
            | "embed"
            | "wbr"
            | "meta"
            | "link"
            | "col"
            | "area"
            | "base"
            | "param"
            | "track"
    )
}

fn tokenize(html: &str) -> Vec<Tok> {
    let sink = Sink(RefCell::new(Vec::new()));
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(html.into());
    let _ = tok.feed(&queue);
    tok.end();
    tok.sink.0.into_inner()
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Inline tags kept as markup (the allow-list); other inline tags are unwrapped.
fn kept_inline(name: &str) -> bool {
    matches!(
        name,
        "a" | "b" | "strong" | "i" | "em" | "br" | "code" | "sub" | "sup"
    )
}

/// Inline tags whose meaning is lost when unwrapped (reported); the rest are styling only.
fn meaningful_inline(name: &str) -> bool {
    matches!(
        name,
        "u" | "s" | "strike" | "del" | "ins" | "mark" | "q" | "small" | "big" | "abbr" | "kbd"
    )
}

/// Elements dropped with everything in them.
fn dropped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "form"
            | "select"
            | "textarea"
            | "button"
            | "object"
            | "canvas"
            | "svg"
            | "math"
            | "template"
            | "map"
            | "head"
            | "title"
    )
}

/// Where the converter is.
enum Ctx {
    /// Collecting a heading's text.
    Heading(i32, String),
    /// Collecting list items.
    List {
        ordered: bool,
        items: Vec<String>,
        item: Option<String>,
        depth: usize,
    },
    /// Collecting a quote.
    Quote {
        html: String,
        cite: Option<String>,
        in_cite: bool,
        embed: Option<String>,
        depth: usize,
    },
    /// Collecting a figure's parts.
    Figure(Figure),
    /// Collecting a `pre`'s text.
    Pre(String),
    /// Skipping a block-editor embed's markup: the URL is in its comment.
    SkipUntilComment(String),
}

#[derive(Default)]
struct Figure {
    image: Option<Image>,
    embed: Option<String>,
    caption: Option<String>,
    in_caption: bool,
    text: String,
    quote: Option<(String, Option<String>)>,
    in_quote: bool,
    in_cite: bool,
}

struct Converter<'a> {
    opts: Options<'a>,
    blocks: Vec<Block>,
    notes: Notes,
    inline: String,
    ctx: Option<Ctx>,
    /// Inside an explicit paragraph (autop applies only outside).
    in_p: bool,
    /// Skipping a dropped element, wherever it is: its name and the depth of elements of
    /// that name.
    skip: Option<(String, usize)>,
}

/// Converts `html` into body blocks, with what could not be carried over exactly.
pub fn to_blocks(html: &str, opts: Options<'_>) -> (Vec<Block>, Notes) {
    let mut c = Converter {
        opts,
        blocks: Vec::new(),
        notes: Notes::default(),
        inline: String::new(),
        ctx: None,
        in_p: false,
        skip: None,
    };
    for tok in tokenize(html) {
        c.token(tok);
    }
    c.close_ctx();
    c.flush();
    (c.blocks, c.notes)
}

impl Converter<'_> {
    /// An absolute http(s) URL for `url`, joined to the base when relative.
    fn url(&self, url: &str) -> Option<String> {
        let url = url.trim();
        if is_web_url(url) {
            return Some(url.to_owned());
        }
        let base = self.opts.base_url?.trim_end_matches('/');
        let joined = if let Some(rest) = url.strip_prefix("//") {
            format!("https://{rest}")
        } else if url.starts_with('/') {
            format!("{base}{url}")
        } else {
            return None;
        };
        is_web_url(&joined).then_some(joined)
    }

    fn image(&mut self, attrs: &[(String, String)]) -> Option<Image> {
        let src = attr(attrs, "src").or_else(|| attr(attrs, "data-src"))?;
        match self.url(src) {
            Some(url) => Some(Image {
                url,
                alt: attr(attrs, "alt").map(str::to_owned),
                caption: None,
                credit: None,
            }),
            None => {
                self.notes.add("dropped", "img with a relative URL");
                None
            }
        }
    }

    /// Ends the paragraph being collected.
    fn flush(&mut self) {
        let html = std::mem::take(&mut self.inline);
        for part in split_autop(&html, self.opts.autop && !self.in_p) {
            let text = to_text(&part);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            // A URL alone on its line is an embed in WordPress (oEmbed).
            if self.opts.autop
                && is_web_url(text)
                && !text.contains(char::is_whitespace)
                && (Embed {
                    url: text.to_owned(),
                })
                .provider()
                .is_some_and(|p| p.chars().next().is_some_and(char::is_uppercase))
            {
                self.blocks.push(Block::Embed(Embed {
                    url: text.to_owned(),
                }));
                continue;
            }
            self.blocks.push(Block::Paragraph(Paragraph {
                html: part.trim().to_owned(),
            }));
        }
    }

    fn push_inline_tag(out: &mut String, name: &str, attrs: &[(String, String)], start: bool) {
        if !kept_inline(name) {
            return;
        }
        if !start {
            if name != "br" {
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
            return;
        }
        out.push('<');
        out.push_str(name);
        if name == "a"
            && let Some(href) = attr(attrs, "href")
        {
            out.push_str(" href=\"");
            escape(href, out);
            out.push('"');
        }
        out.push('>');
    }

    fn close_ctx(&mut self) {
        let Some(ctx) = self.ctx.take() else { return };
        match ctx {
            Ctx::Heading(level, html) => {
                let text = to_text(&html).trim().to_owned();
                if !text.is_empty() {
                    self.blocks.push(Block::Heading(Heading { level, text }));
                }
            }
            Ctx::List {
                ordered,
                mut items,
                item,
                ..
            } => {
                items.extend(item);
                items.retain(|i| !to_text(i).trim().is_empty());
                for chunk in items.chunks(MAX_LIST_ITEMS) {
                    self.blocks.push(Block::List(List {
                        ordered,
                        items: chunk.iter().map(|i| i.trim().to_owned()).collect(),
                    }));
                }
            }
            Ctx::Quote {
                html, cite, embed, ..
            } => {
                if let Some(url) = embed {
                    self.blocks.push(Block::Embed(Embed { url }));
                } else {
                    self.quote(html, cite);
                }
            }
            Ctx::Figure(f) => self.figure(f),
            Ctx::Pre(text) => {
                let text = text.trim_matches('\n');
                if !text.trim().is_empty() {
                    let mut html = String::from("<code>");
                    for (i, line) in text.lines().enumerate() {
                        if i > 0 {
                            html.push_str("<br>");
                        }
                        escape(line, &mut html);
                    }
                    html.push_str("</code>");
                    self.blocks.push(Block::Paragraph(Paragraph { html }));
                }
            }
            Ctx::SkipUntilComment(_) => {}
        }
    }

    fn quote(&mut self, html: String, cite: Option<String>) {
        let html = html.trim().trim_end_matches("<br><br>").trim().to_owned();
        if to_text(&html).trim().is_empty() {
            return;
        }
        let attribution = cite
            .map(|c| {
                to_text(&c)
                    .trim()
                    .trim_start_matches(['—', '-', '–'])
                    .trim()
                    .to_owned()
            })
            .filter(|c| !c.is_empty());
        self.blocks.push(Block::Quote(Quote { html, attribution }));
    }

    fn figure(&mut self, f: Figure) {
        let caption = f
            .caption
            .map(|c| to_text(&c).trim().to_owned())
            .filter(|c| !c.is_empty());
        if let Some(mut image) = f.image {
            image.caption = caption;
            self.blocks.push(Block::Image(image));
        } else if let Some(url) = f.embed {
            self.blocks.push(Block::Embed(Embed { url }));
        } else if let Some((html, cite)) = f.quote {
            self.quote(html, cite);
        } else {
            let text = to_text(&f.text);
            let text = text.trim();
            if let Some(url) = text
                .split_whitespace()
                .find(|w| is_web_url(w))
                .filter(|_| !text.contains(' '))
            {
                self.blocks.push(Block::Embed(Embed {
                    url: url.to_owned(),
                }));
            } else if !text.is_empty() {
                self.notes.add("kept as text", "figure");
                self.blocks.push(Block::Paragraph(Paragraph {
                    html: f.text.trim().to_owned(),
                }));
            }
        }
    }

    fn embed_url(&mut self, src: &str) -> Option<String> {
        let url = self.url(src)?;
        // A player's address is not the video's page; the page is what embeds resolve.
        if let Some(id) = url
            .split("youtube.com/embed/")
            .nth(1)
            .or_else(|| url.split("youtube-nocookie.com/embed/").nth(1))
        {
            let id = id.split(['?', '&', '/']).next().unwrap_or_default();
            return Some(format!("https://www.youtube.com/watch?v={id}"));
        }
        if let Some(id) = url.split("player.vimeo.com/video/").nth(1) {
            let id = id.split(['?', '&', '/']).next().unwrap_or_default();
            return Some(format!("https://vimeo.com/{id}"));
        }
        Some(url)
    }

    fn comment(&mut self, text: &str) {
        let text = text.trim();
        if let Some(url) = text.strip_prefix("gazette:embed ") {
            self.close_ctx();
            self.flush();
            if let Some(url) = self.embed_url(url) {
                self.blocks.push(Block::Embed(Embed { url }));
            }
            return;
        }
        let Some(rest) = text.strip_prefix("wp:") else {
            return;
        };
        let name = rest
            .split(' ')
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        if name == "embed" || name.starts_with("core-embed") {
            // `<!-- wp:embed {"url":"https://…","type":"video"} -->`
            let url = rest
                .find('{')
                .and_then(|at| serde_json::from_str::<serde_json::Value>(&rest[at..]).ok())
                .and_then(|v| v["url"].as_str().map(str::to_owned));
            if let Some(url) = url.and_then(|u| self.embed_url(&u)) {
                self.close_ctx();
                self.flush();
                self.blocks.push(Block::Embed(Embed { url }));
                self.ctx = Some(Ctx::SkipUntilComment(name.to_owned()));
            }
            return;
        }
        let known = [
            "paragraph",
            "heading",
            "list",
            "list-item",
            "quote",
            "pullquote",
            "image",
            "separator",
            "spacer",
            "group",
            "columns",
            "column",
            "html",
            "freeform",
            "more",
            "nextpage",
            "preformatted",
            "code",
            "table",
            "shortcode",
            "verse",
            "media-text",
            "cover",
            "video",
            "audio",
        ];
        if !known.contains(&name) && !rest.starts_with('/') && !name.is_empty() {
            self.notes
                .add("block without an equivalent", format!("wp:{name}"));
        }
    }

    fn token(&mut self, tok: Tok) {
        // A dropped element swallows everything in it.
        if let Some((name, depth)) = &mut self.skip {
            match &tok {
                Tok::Start(n, _) if n == name => *depth += 1,
                Tok::End(n) if n == name => {
                    *depth -= 1;
                    if *depth == 0 {
                        self.skip = None;
                    }
                }
                _ => {}
            }
            return;
        }
        // Contexts that swallow tokens first.
        match (&mut self.ctx, &tok) {
            (Some(Ctx::SkipUntilComment(name)), Tok::Comment(c)) => {
                let c = c.trim();
                if c.strip_prefix("/wp:")
                    .is_some_and(|r| r.trim() == name.as_str())
                {
                    self.ctx = None;
                }
                return;
            }
            (Some(Ctx::SkipUntilComment(_)), _) => return,
            (Some(Ctx::Pre(text)), Tok::Text(t)) => {
                text.push_str(t);
                return;
            }
            (Some(Ctx::Pre(_)), Tok::End(n)) if n == "pre" => {
                self.close_ctx();
                return;
            }
            (Some(Ctx::Pre(text)), Tok::Start(n, _)) if n == "br" => {
                text.push('\n');
                return;
            }
            (Some(Ctx::Pre(_)), _) => return,
            _ => {}
        }
        match tok {
            Tok::Comment(c) => self.comment(&c),
            Tok::Text(t) => self.text(&t),
            Tok::Start(name, attrs) => self.start(&name, &attrs),
            Tok::End(name) => self.end(&name),
        }
    }

    /// Where inline content goes now.
    fn sink(&mut self) -> &mut String {
        match &mut self.ctx {
            Some(Ctx::Heading(_, html)) => html,
            Some(Ctx::List { item, .. }) => item.get_or_insert_with(String::new),
            Some(Ctx::Quote {
                html,
                cite,
                in_cite,
                ..
            }) => {
                if *in_cite {
                    cite.get_or_insert_with(String::new)
                } else {
                    html
                }
            }
            Some(Ctx::Figure(f)) => {
                if f.in_caption {
                    f.caption.get_or_insert_with(String::new)
                } else if f.in_quote {
                    let q = f.quote.get_or_insert_with(|| (String::new(), None));
                    if f.in_cite {
                        q.1.get_or_insert_with(String::new)
                    } else {
                        &mut q.0
                    }
                } else {
                    &mut f.text
                }
            }
            _ => &mut self.inline,
        }
    }

    fn text(&mut self, t: &str) {
        let autop = self.opts.autop && !self.in_p && self.ctx.is_none();
        let mut escaped = String::with_capacity(t.len());
        if autop {
            escape(t, &mut escaped);
        } else {
            let collapsed: String = t
                .chars()
                .map(|c| {
                    if c == '\n' || c == '\r' || c == '\t' {
                        ' '
                    } else {
                        c
                    }
                })
                .collect();
            escape(&collapsed, &mut escaped);
        }
        self.sink().push_str(&escaped);
    }

    fn start(&mut self, name: &str, attrs: &[(String, String)]) {
        if dropped(name) {
            self.notes.add("dropped", name);
            if !is_void(name) {
                self.ctx_push_skip(name);
            }
            return;
        }
        let class = attr(attrs, "class").unwrap_or_default().to_owned();
        // Inside a collecting context.
        match &mut self.ctx {
            Some(Ctx::Heading(..)) => {
                let out = self.sink();
                Self::push_inline_tag(out, name, attrs, true);
                return;
            }
            Some(Ctx::List { item, depth, .. }) => {
                match name {
                    "ul" | "ol" => {
                        *depth += 1;
                        self.notes.add("flattened", "nested list");
                    }
                    "li" => {
                        let done = item.take();
                        if let Some(Ctx::List { items, item, .. }) = &mut self.ctx {
                            items.extend(done);
                            *item = Some(String::new());
                        }
                    }
                    "p" => {
                        if let Some(i) = item.as_mut().filter(|i| !i.trim().is_empty()) {
                            i.push_str("<br>");
                        }
                    }
                    "img" => {
                        if let Some(img) = self.image(attrs) {
                            self.pending_image(img);
                        }
                    }
                    _ => Self::push_inline_tag(self.sink(), name, attrs, true),
                }
                return;
            }
            Some(Ctx::Quote {
                html,
                in_cite,
                embed,
                depth,
                ..
            }) => {
                match name {
                    "blockquote" => *depth += 1,
                    "cite" | "footer" => *in_cite = true,
                    "p" if !html.trim().is_empty() => html.push_str("<br><br>"),
                    "a" if embed.is_some() => {
                        if let Some(href) = attr(attrs, "href").filter(|h| is_web_url(h)) {
                            *embed = Some(href.to_owned());
                        }
                    }
                    _ => Self::push_inline_tag(self.sink(), name, attrs, true),
                }
                return;
            }
            Some(Ctx::Figure(_)) if name == "table" => {
                // A table block's figure: the table is what there is to keep.
                self.ctx = None;
                self.start(name, attrs);
                return;
            }
            Some(Ctx::Figure(_)) => {
                match name {
                    "img" => {
                        let img = self.image(attrs);
                        if let Some(Ctx::Figure(f)) = &mut self.ctx {
                            if f.image.is_none() {
                                f.image = img;
                            } else if img.is_some() {
                                self.notes.add("dropped", "img beyond a gallery's first");
                            }
                        }
                    }
                    "iframe" | "video" | "audio" | "source" => {
                        let src = attr(attrs, "src").map(str::to_owned);
                        let url = src.and_then(|s| self.embed_url(&s));
                        if let Some(Ctx::Figure(f)) = &mut self.ctx
                            && f.embed.is_none()
                        {
                            f.embed = url;
                        }
                    }
                    "figcaption" => {
                        if let Some(Ctx::Figure(f)) = &mut self.ctx {
                            f.in_caption = true;
                        }
                    }
                    "blockquote" => {
                        if let Some(Ctx::Figure(f)) = &mut self.ctx {
                            f.in_quote = true;
                            if class.contains("twitter-tweet") || class.contains("instagram") {
                                f.embed = Some(String::new());
                            }
                        }
                    }
                    "cite" => {
                        if let Some(Ctx::Figure(f)) = &mut self.ctx {
                            f.in_cite = f.in_quote;
                        }
                    }
                    "a" => {
                        let href = attr(attrs, "href").map(str::to_owned);
                        if let Some(Ctx::Figure(f)) = &mut self.ctx
                            && f.embed.as_deref() == Some("")
                        {
                            f.embed = href.filter(|h| is_web_url(h)).or(Some(String::new()));
                            return;
                        }
                        Self::push_inline_tag(self.sink(), name, attrs, true);
                    }
                    "p" => {
                        let s = self.sink();
                        if !s.trim().is_empty() {
                            s.push_str("<br><br>");
                        }
                    }
                    _ => Self::push_inline_tag(self.sink(), name, attrs, true),
                }
                return;
            }
            _ => {}
        }
        match name {
            "p" => {
                self.flush();
                self.in_p = true;
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let level = i32::from(name.as_bytes()[1] - b'0').clamp(2, 6);
                self.ctx = Some(Ctx::Heading(level, String::new()));
            }
            "ul" | "ol" => {
                self.flush();
                self.ctx = Some(Ctx::List {
                    ordered: name == "ol",
                    items: Vec::new(),
                    item: None,
                    depth: 1,
                });
            }
            "blockquote" => {
                self.flush();
                let embed = (class.contains("twitter-tweet")
                    || class.contains("instagram-media")
                    || class.contains("tiktok-embed"))
                .then(|| attr(attrs, "cite").unwrap_or_default().to_owned());
                self.ctx = Some(Ctx::Quote {
                    html: String::new(),
                    cite: None,
                    in_cite: false,
                    embed,
                    depth: 1,
                });
            }
            "figure" => {
                self.flush();
                self.ctx = Some(Ctx::Figure(Figure::default()));
            }
            "img" => {
                self.flush();
                if let Some(img) = self.image(attrs) {
                    self.blocks.push(Block::Image(img));
                }
            }
            "iframe" | "video" | "audio" | "embed" => {
                self.flush();
                let src = attr(attrs, "src").map(str::to_owned);
                match src.and_then(|s| self.embed_url(&s)) {
                    Some(url) => {
                        if name != "iframe" {
                            self.notes.add("kept as embed", name);
                        }
                        self.blocks.push(Block::Embed(Embed { url }));
                    }
                    None => self.notes.add("dropped", name),
                }
                if name != "embed" {
                    self.ctx_push_skip(name);
                }
            }
            "pre" => {
                self.flush();
                self.notes.add("kept as text", "pre");
                self.ctx = Some(Ctx::Pre(String::new()));
            }
            "hr" => {
                self.flush();
                self.notes.add("dropped", "hr");
            }
            "table" | "dl" => {
                self.flush();
                self.notes.add("kept as text", name);
            }
            "tr" | "dt" | "dd" | "caption" => self.flush(),
            "td" | "th" => {
                if !self.inline.trim().is_empty() {
                    self.inline.push_str(" | ");
                }
            }
            "div" | "section" | "article" | "header" | "footer" | "main" | "aside" | "nav"
            | "center" | "details" | "summary" | "address" | "figcaption" | "li" | "body"
            | "html" | "tbody" | "thead" | "tfoot" => self.flush(),
            "br" => self.inline.push_str("<br>"),
            _ => {
                if kept_inline(name) {
                    Self::push_inline_tag(&mut self.inline, name, attrs, true);
                } else if meaningful_inline(name) {
                    self.notes.add("unwrapped", name);
                }
            }
        }
    }

    fn ctx_push_skip(&mut self, name: &str) {
        self.skip = Some((name.to_owned(), 1));
    }

    /// An image inside a list item: the list ends, the image follows it.
    fn pending_image(&mut self, img: Image) {
        self.notes.add("moved out of a list", "img");
        self.close_ctx();
        self.blocks.push(Block::Image(img));
    }

    fn end(&mut self, name: &str) {
        match &mut self.ctx {
            Some(Ctx::Heading(..)) => {
                if matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
                    self.close_ctx();
                } else {
                    Self::push_inline_tag(self.sink(), name, &[], false);
                }
                return;
            }
            Some(Ctx::List { item, depth, .. }) => {
                match name {
                    "ul" | "ol" => {
                        *depth -= 1;
                        if *depth == 0 {
                            self.close_ctx();
                        }
                    }
                    "li" => {
                        let done = item.take();
                        if let Some(Ctx::List { items, .. }) = &mut self.ctx {
                            items.extend(done);
                        }
                    }
                    _ => Self::push_inline_tag(self.sink(), name, &[], false),
                }
                return;
            }
            Some(Ctx::Quote { in_cite, depth, .. }) => {
                match name {
                    "blockquote" => {
                        *depth -= 1;
                        if *depth == 0 {
                            self.close_ctx();
                        }
                    }
                    "cite" | "footer" => *in_cite = false,
                    _ => Self::push_inline_tag(self.sink(), name, &[], false),
                }
                return;
            }
            Some(Ctx::Figure(f)) => {
                match name {
                    "figure" => self.close_ctx(),
                    "figcaption" => f.in_caption = false,
                    "blockquote" => f.in_quote = false,
                    "cite" => f.in_cite = false,
                    _ => Self::push_inline_tag(self.sink(), name, &[], false),
                }
                return;
            }
            _ => {}
        }
        match name {
            "p" => {
                self.flush();
                self.in_p = false;
            }
            "tr" | "dt" | "dd" | "caption" | "table" | "dl" | "div" | "section" | "article"
            | "header" | "footer" | "main" | "aside" | "nav" | "center" | "details" | "summary"
            | "address" | "figcaption" | "li" | "ul" | "ol" | "blockquote" => {
                self.flush();
            }
            _ => {
                if kept_inline(name) {
                    Self::push_inline_tag(&mut self.inline, name, &[], false);
                }
            }
        }
    }
}

/// WordPress's automatic paragraphs: a blank line ends a paragraph, a single newline is a
/// line break. Without `autop`, the fragment is one paragraph.
fn split_autop(html: &str, autop: bool) -> Vec<String> {
    if !autop {
        return vec![html.to_owned()];
    }
    let html = html.replace("\r\n", "\n");
    html.split("\n\n")
        .map(|p| {
            p.trim_matches('\n')
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("<br>")
        })
        .filter(|p| !p.trim().is_empty())
        .collect()
}

/// Shortcodes WordPress and its common plugins register; any other `[name]…[/name]` pair
/// is treated as a shortcode too, while a lone `[sic]` or `[1]` stays text.
const KNOWN_SHORTCODES: [&str; 22] = [
    "caption",
    "wp_caption",
    "embed",
    "gallery",
    "audio",
    "video",
    "playlist",
    "youtube",
    "vimeo",
    "tweet",
    "twitter",
    "instagram",
    "soundcloud",
    "pullquote",
    "button",
    "contact-form",
    "contact-form-7",
    "gravityform",
    "googlemaps",
    "code",
    "sourcecode",
    "latex",
];

/// Turns WordPress shortcodes into markup the converter reads, counting the ones it drops
/// (their enclosed text is kept), and says whether the content is classic (gets autop).
pub fn wordpress_prepare(content: &str, notes: &mut Notes) -> (String, bool) {
    let classic = !content.contains("<!-- wp:");
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(at) = rest.find('[') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match shortcode(tail, content) {
            Some(sc) => {
                match sc.name.as_str() {
                    "caption" | "wp_caption" => {
                        let inner = sc.inner.unwrap_or_default();
                        // The caption is the text after the image (or an attribute).
                        let (img, text) = match inner.find('>') {
                            Some(end) if inner.trim_start().starts_with('<') => {
                                let (a, b) = split_after_image(&inner)
                                    .unwrap_or((&inner[..=end], &inner[end + 1..]));
                                (a.to_owned(), b.to_owned())
                            }
                            _ => (inner.clone(), String::new()),
                        };
                        let caption = sc
                            .attrs
                            .iter()
                            .find(|(k, _)| k == "caption")
                            .map(|(_, v)| v.clone())
                            .unwrap_or(text);
                        out.push_str("\n<figure>");
                        out.push_str(&img);
                        out.push_str("<figcaption>");
                        out.push_str(&caption);
                        out.push_str("</figcaption></figure>\n");
                    }
                    "embed" => {
                        let url = sc.inner.unwrap_or_default();
                        out.push_str("\n<!--gazette:embed ");
                        out.push_str(url.trim().replace("--", "").as_str());
                        out.push_str("-->\n");
                    }
                    "youtube" | "vimeo" | "tweet" | "twitter" | "instagram" | "soundcloud"
                        if sc
                            .attrs
                            .iter()
                            .any(|(k, v)| (k == "url" || k == "0") && v.starts_with("http")) =>
                    {
                        let url = sc
                            .attrs
                            .iter()
                            .find(|(k, v)| (k == "url" || k == "0") && v.starts_with("http"))
                            .map(|(_, v)| v.replace("--", ""))
                            .unwrap_or_default();
                        out.push_str("\n<!--gazette:embed ");
                        out.push_str(&url);
                        out.push_str("-->\n");
                    }
                    _ => {
                        notes.add("shortcode", sc.name.clone());
                        if let Some(inner) = sc.inner {
                            out.push_str(&inner);
                        }
                    }
                }
                rest = &tail[sc.len..];
            }
            None => {
                out.push('[');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    (out, classic)
}

/// `<a …><img …></a> Caption` → the image part and the caption text.
fn split_after_image(inner: &str) -> Option<(&str, &str)> {
    let img = inner.find("<img")?;
    let end = img + inner[img..].find('>')? + 1;
    let end = match inner[end..].trim_start().strip_prefix("</a>") {
        Some(after) => inner.len() - after.len(),
        None => end,
    };
    Some((&inner[..end], &inner[end..]))
}

struct Shortcode {
    name: String,
    attrs: Vec<(String, String)>,
    inner: Option<String>,
    /// Bytes from `[` to the end of the closing tag.
    len: usize,
}

/// Reads a shortcode at the start of `s` (which starts with `[`).
fn shortcode(s: &str, whole: &str) -> Option<Shortcode> {
    if s.starts_with("[[") {
        return None;
    }
    let close = s.find(']')?;
    let head = &s[1..close];
    if head.contains(['[', '<', '\n']) {
        return None;
    }
    let name: String = head
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let after_name = &head[name.len()..];
    if !(after_name.is_empty() || after_name.starts_with([' ', '/'])) {
        return None;
    }
    let closing = format!("[/{name}]");
    let known = KNOWN_SHORTCODES.contains(&name.as_str())
        || name.starts_with("vc_")
        || name.starts_with("et_pb_")
        || name.starts_with("fusion_");
    if !known && !whole.contains(&closing) {
        return None;
    }
    let attrs = shortcode_attrs(after_name.trim_end_matches('/'));
    let self_closed = after_name.trim_end().ends_with('/');
    let body = &s[close + 1..];
    let (inner, len) = match body.find(&closing) {
        Some(end) if !self_closed && !body[..end].contains(&format!("[{name} ")) => (
            Some(body[..end].to_owned()),
            close + 1 + end + closing.len(),
        ),
        _ => (None, close + 1),
    };
    Some(Shortcode {
        name,
        attrs,
        inner,
        len,
    })
}

/// `id="attachment_5" align="alignnone" width=300 https://…` → pairs; a bare value is
/// named by its position (`"0"`).
fn shortcode_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    let mut pos = 0;
    while !rest.is_empty() {
        let (key, after) = match rest.find(['=', ' ']) {
            Some(at) if rest.as_bytes()[at] == b'=' => (Some(&rest[..at]), &rest[at + 1..]),
            _ => (None, rest),
        };
        let (value, after) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let body = &after[1..];
                match body.find(q) {
                    Some(end) => (&body[..end], &body[end + 1..]),
                    None => (body, ""),
                }
            }
            _ => match after.find(' ') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            },
        };
        let key = key.map_or_else(
            || {
                pos += 1;
                (pos - 1).to_string()
            },
            |k| k.trim().to_ascii_lowercase(),
        );
        out.push((key, value.to_owned()));
        rest = after.trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(html: &str, autop: bool) -> (Vec<Block>, Notes) {
        to_blocks(
            html,
            Options {
                autop,
                base_url: Some("https://old.example.com"),
            },
        )
    }

    fn para(html: &str) -> Block {
        Block::Paragraph(Paragraph { html: html.into() })
    }

    #[test]
    fn classic_content_gets_automatic_paragraphs() {
        let (b, n) = blocks("First <b>bold</b>\nline two\n\nSecond &amp; last", true);
        assert_eq!(
            b,
            [
                para("First <b>bold</b><br>line two"),
                para("Second &amp; last")
            ]
        );
        assert!(n.is_empty());
    }

    #[test]
    fn block_elements_become_blocks() {
        let html = r#"<h1>Top</h1><h3>Sub <em>head</em></h3><ul><li>One</li><li><strong>Two</strong></li></ul>
<ol><li>a<ul><li>b</li></ul></li></ol>
<blockquote><p>Said it.</p><cite>— Someone</cite></blockquote>
<figure class="wp-block-image"><img src="/wp-content/uploads/x.jpg" alt="Alt"><figcaption>The <em>cap</em></figcaption></figure>
<iframe src="https://www.youtube.com/embed/abc123?feature=oembed"></iframe>
<table><tr><td>x</td><td>y</td></tr></table><script>alert(1)</script><hr>"#;
        let (b, n) = blocks(html, false);
        assert_eq!(
            b,
            [
                Block::Heading(Heading {
                    level: 2,
                    text: "Top".into()
                }),
                Block::Heading(Heading {
                    level: 3,
                    text: "Sub head".into()
                }),
                Block::List(List {
                    ordered: false,
                    items: vec!["One".into(), "<strong>Two</strong>".into()]
                }),
                Block::List(List {
                    ordered: true,
                    items: vec!["a".into(), "b".into()]
                }),
                Block::Quote(Quote {
                    html: "Said it.".into(),
                    attribution: Some("Someone".into())
                }),
                Block::Image(Image {
                    url: "https://old.example.com/wp-content/uploads/x.jpg".into(),
                    alt: Some("Alt".into()),
                    caption: Some("The cap".into()),
                    credit: None
                }),
                Block::Embed(Embed {
                    url: "https://www.youtube.com/watch?v=abc123".into()
                }),
                para("x | y"),
            ]
        );
        assert_eq!(
            n.describe(),
            "dropped: <hr> ×1, <script> ×1; flattened: <nested list> ×1; kept as text: <table> ×1"
        );
    }

    #[test]
    fn dropped_elements_leave_nothing_wherever_they_are() {
        let (b, n) = blocks(
            "<ul><li>One<script>var x = '<b>';</script></li></ul><p>Two<form><input><b>x</b></form></p>",
            false,
        );
        assert_eq!(
            b,
            [
                Block::List(List {
                    ordered: false,
                    items: vec!["One".into()]
                }),
                para("Two"),
            ]
        );
        assert_eq!(n.describe(), "dropped: <form> ×1, <script> ×1");
    }

    #[test]
    fn shortcodes_become_figures_and_embeds_or_are_reported() {
        let mut notes = Notes::default();
        let (html, classic) = wordpress_prepare(
            "Intro [sic]\n\n[caption id=\"attachment_5\" align=\"alignnone\" width=\"300\"]<img src=\"https://x.test/a.jpg\" alt=\"A\" /> The caption[/caption]\n\n[gallery ids=\"1,2\"]\n\n[embed]https://vimeo.com/1234[/embed]\n\n[pullquote]Kept text[/pullquote]",
            &mut notes,
        );
        assert!(classic);
        let (b, n) = blocks(&html, true);
        assert_eq!(
            b,
            [
                para("Intro [sic]"),
                Block::Image(Image {
                    url: "https://x.test/a.jpg".into(),
                    alt: Some("A".into()),
                    caption: Some("The caption".into()),
                    credit: None
                }),
                Block::Embed(Embed {
                    url: "https://vimeo.com/1234".into()
                }),
                para("Kept text"),
            ]
        );
        assert!(n.is_empty());
        assert_eq!(notes.describe(), "shortcode: [gallery] ×1, [pullquote] ×1");
    }

    #[test]
    fn block_editor_embeds_and_unknown_blocks() {
        let html = r#"<!-- wp:paragraph -->
<p>Hello</p>
<!-- /wp:paragraph -->
<!-- wp:embed {"url":"https://twitter.com/x/status/1","type":"rich","providerNameSlug":"twitter"} -->
<figure class="wp-block-embed"><div class="wp-block-embed__wrapper">
https://twitter.com/x/status/1
</div></figure>
<!-- /wp:embed -->
<!-- wp:acme/map {"lat":1} -->
<div class="acme-map">Map of the harbour</div>
<!-- /wp:acme/map -->"#;
        let (b, n) = blocks(html, false);
        assert_eq!(
            b,
            [
                para("Hello"),
                Block::Embed(Embed {
                    url: "https://twitter.com/x/status/1".into()
                }),
                para("Map of the harbour"),
            ]
        );
        assert_eq!(
            n.describe(),
            "block without an equivalent: <wp:acme/map> ×1"
        );
    }
}
