/*
 * Article assistant widget. On any page:
 *
 *   <script src="https://ASSISTANT-HOST/embed.js" data-key="WIDGET-KEY"
 *           data-title="Ask our articles" data-position="bottom-right"
 *           data-article="ARTICLE-ID" data-collection="COLLECTION"></script>
 *
 * data-article (optional) scopes every question to that article: "this article" then means it.
 * Without it, an article whose URL is this page's is the one in view.
 * data-collection (optional) answers from that collection only, one the key may use; a key scoped to
 * collections answers from its own anyway (docs/collections.md).
 *
 * adds a floating button that opens a chat panel. With data-mode="inline" the
 * chat fills the place of the script tag instead (that is the /widget page).
 *
 * Plain JS, no build step, no CDN: it talks to the assistant's server only.
 * Its markup lives in a shadow root so the page's CSS and the widget's cannot
 * touch each other. Every piece of text from the user or the server is set
 * with textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  const script = document.currentScript || document.querySelector('script[src$="/embed.js"]');
  const server = new URL(script.src, location.href).origin;
  const inline = script.dataset.mode === "inline";
  // /widget takes its settings from the URL fragment, which browsers never send to a server.
  const fragment = new URLSearchParams(inline ? location.hash.slice(1) : "");
  const config = {
    key: script.dataset.key || fragment.get("key") || "",
    title: script.dataset.title || fragment.get("title") || "Ask about our articles",
    position: script.dataset.position === "bottom-left" ? "bottom-left" : "bottom-right",
    article: script.dataset.article || fragment.get("article") || "",
    collection: script.dataset.collection || fragment.get("collection") || "",
  };
  // One conversation per assistant server, and per article in view: a data-article's, or a page that says it is
  // an article (Open Graph's og:type, as news sites' article pages do), whose questions the server answers from
  // the article at its address. A follow-up there must not lean on another article's conversation; elsewhere one
  // conversation follows the visitor across the site.
  // Pages are told apart by their path: a site whose article pages differ only in their query (/?p=123) names
  // each one's data-article. Whether the panel is open is the site's (it stays open from article to article).
  const ogType = document.querySelector('meta[property="og:type"]');
  const articlePage = !config.article && /^\s*article\s*$/i.test((ogType && ogType.content) || "");
  const inView = config.article ? ":" + config.article : articlePage ? ":" + location.pathname.replace(/\/+$/, "") : "";
  const collectionSuffix = config.collection ? "@" + config.collection : "";
  const SITE_KEY = "article-assistant:" + server + collectionSuffix;
  const STORAGE_KEY = "article-assistant:" + server + inView + collectionSuffix;
  // The host site's storage is not the widget's to fill: the conversations of this many articles are kept, those
  // of the articles least recently asked about dropped (their conversations stay on the server until they expire).
  const ARTICLE_CONVERSATIONS_KEPT = 20;
  const KEPT_KEY = "article-assistant:articles:" + server;
  const MAX_SAVED_MESSAGES = 40;
  const HISTORY_TURNS = 6; // earlier exchanges sent along, so follow-ups resolve

  // --- small DOM helpers (text only) -------------------------------------
  // JSON as the server reads it on any page: a page's Array.prototype.toJSON (Prototype.js, on older sites) would
  // send every list as a string. A replacer sees each value as it was (`this[key]`), so lists go out as lists.
  function jsonText(value) {
    return JSON.stringify(value, function (key, serialized) {
      return Array.isArray(this[key]) ? this[key] : serialized;
    });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function button(className, text, label) {
    const node = el("button", className, text);
    node.type = "button";
    if (label) node.setAttribute("aria-label", label);
    return node;
  }

  // Icons are inline SVG (constant path data, 24x24 grid, drawn in currentColor), not emoji or symbol
  // characters, so they look the same with whatever fonts the visitor has. Each sits in a button that has
  // its own accessible name (aria-label), so the drawing itself is hidden from screen readers.
  const ICONS = {
    chat: { fill: "M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9l-5 4v-4H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z" },
    close: { stroke: "M18 6 6 18M6 6l12 12" },
    back: { stroke: "M19 12H5M12 19l-7-7 7-7" },
    up: { stroke: "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3z" +
      "M7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3" },
    down: { stroke: "M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3z" +
      "m7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17" },
  };

  function icon(name, size) {
    const ns = "http://www.w3.org/2000/svg";
    const shape = ICONS[name];
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon icon-" + name);
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size));
    svg.setAttribute("height", String(size));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    if (shape.fill) {
      path.setAttribute("d", shape.fill);
      path.setAttribute("fill", "currentColor");
    } else {
      path.setAttribute("d", shape.stroke);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", "2");
      path.setAttribute("stroke-linecap", "round");
      path.setAttribute("stroke-linejoin", "round");
    }
    svg.appendChild(path);
    return svg;
  }

  // --- saved conversation --------------------------------------------------
  function loadState() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}");
      const site = inView ? JSON.parse(localStorage.getItem(SITE_KEY) || "{}") : saved;
      const messages = Array.isArray(saved.messages) ? saved.messages.filter(isMessage) : [];
      const conversation = typeof saved.conversation === "string" ? saved.conversation : null;
      return { messages: messages, open: site.open === true, conversation: conversation };
    } catch (err) {
      return { messages: [], open: false, conversation: null };
    }
  }

  // This browser's random token on this site: the server keeps its conversations under a digest of it.
  const VISITOR_KEY = "article-assistant:visitor:" + server;
  function visitorToken() {
    try {
      let token = localStorage.getItem(VISITOR_KEY);
      if (!token) {
        const bytes = new Uint8Array(24);
        crypto.getRandomValues(bytes);
        token = Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
        localStorage.setItem(VISITOR_KEY, token);
      }
      return token;
    } catch (err) {
      return ""; // storage blocked: answers are still given, the conversation is kept in this page only
    }
  }
  const visitor = visitorToken();

  function isMessage(m) {
    return m && (m.role === "user" || m.role === "assistant") && typeof m.text === "string";
  }

  function authHeaders(extra) {
    const headers = { Authorization: "Bearer " + config.key };
    if (visitor) headers["X-Assistant-Visitor"] = visitor;
    return Object.assign(headers, extra || {});
  }

  const state = loadState();

  function saveState() {
    try {
      state.messages = state.messages.slice(-MAX_SAVED_MESSAGES);
      if (!inView) {
        localStorage.setItem(STORAGE_KEY, jsonText(state));
        return;
      }
      const site = JSON.parse(localStorage.getItem(SITE_KEY) || "{}");
      if (site.open !== state.open) localStorage.setItem(SITE_KEY, jsonText(Object.assign(site, { open: state.open })));
      if (state.messages.length || state.conversation) {
        localStorage.setItem(STORAGE_KEY, jsonText({ messages: state.messages, conversation: state.conversation }));
        keepArticleConversation(STORAGE_KEY);
      } else {
        localStorage.removeItem(STORAGE_KEY);
      }
    } catch (err) {
      /* storage full or blocked: the conversation just won't survive a reload */
    }
  }

  function keepArticleConversation(key) {
    const listed = JSON.parse(localStorage.getItem(KEPT_KEY) || "[]");
    const kept = (Array.isArray(listed) ? listed : []).filter(function (k) { return typeof k === "string" && k !== key; });
    kept.push(key); // the most recent last
    while (kept.length > ARTICLE_CONVERSATIONS_KEPT) localStorage.removeItem(kept.shift());
    localStorage.setItem(KEPT_KEY, jsonText(kept));
  }

  function historyTurns() {
    const turns = [];
    const m = state.messages;
    for (let i = 0; i + 1 < m.length; i++) {
      if (m[i].role === "user" && m[i + 1].role === "assistant") {
        turns.push({ question: m[i].text, answer: m[i + 1].text });
      }
    }
    return turns.slice(-HISTORY_TURNS);
  }

  // --- talking to the server ------------------------------------------------
  function requestBody(question, history) {
    const body = { question: question, history: history };
    if (visitor) body.conversation_id = state.conversation || "new"; // kept on the server for this visitor
    // The article in view: the one the tag names, else whichever article lives at this page's link (if any).
    // Only the page's address: its query and fragment may hold the visitor's tokens, and matching ignores them.
    body.filters = config.article ? { article_ids: [config.article] } : { urls: [location.origin + location.pathname] };
    // /widget is the assistant's own page, no article's; a file:// or other page has no link an article could have
    if (inline || !/^https?:$/.test(location.protocol)) delete body.filters.urls;
    if (config.collection) body.filters.collections = [config.collection];
    return body;
  }

  // What a visitor reads when the site's setup is wrong; the technical reason goes to the console for its developer.
  const EMPTY_LOG = "Ask anything about the articles. Answers cite their sources.";
  const NOT_SET_UP = "This assistant is not set up correctly on this site, so it cannot answer. " +
    "Please let the site's owner know.";

  function isSetupError(detail) {
    return /^filters\.(collections|article_ids):/.test(String(detail || ""));
  }

  function misconfigured(detail) {
    if (window.console) console.warn("article assistant widget: " + detail);
    return new Error(NOT_SET_UP);
  }

  async function streamAnswer(question, history, onToken) {
    if (!config.key) throw misconfigured('no key: add data-key="..." to the script tag');
    let response;
    try {
      response = await fetch(server + "/api/ask/stream", {
        method: "POST",
        headers: authHeaders({ "Content-Type": "application/json", Accept: "text/event-stream" }),
        body: jsonText(requestBody(question, history)),
      });
    } catch (err) {
      throw new Error(await whyUnreachable());
    }
    if (!response.ok) throw new Error(await httpErrorMessage(response));
    let answer = null;
    for await (const event of serverSentEvents(response)) {
      const data = event.data ? JSON.parse(event.data) : {};
      if (event.type === "token") onToken(String(data.text || ""));
      else if (event.type === "answer") answer = data;
      else if (event.type === "error") {
        throw isSetupError(data.error) ? misconfigured(data.error) : new Error(data.error || "The assistant could not answer.");
      }
      else if (event.type === "done") break;
    }
    if (!answer) throw new Error("The answer was cut off. Please ask again.");
    return answer;
  }

  // A page's Content-Security-Policy that leaves the server out of connect-src: said, not taken for an outage.
  let blockedByPolicy = "";
  document.addEventListener("securitypolicyviolation", function (event) {
    // enforced only (a report-only policy blocks nothing), and connect-src: a blocked <link> has its fallback
    if (event.disposition === "enforce" && event.effectiveDirective === "connect-src" &&
        String(event.blockedURI || "").startsWith(server)) blockedByPolicy = "connect-src";
  });

  // A failed fetch hides its reason. If the server answers a no-cors request,
  // it is up, so the failure was CORS: this page's origin is not allowed.
  async function whyUnreachable() {
    if (self.origin === "null") {  // no origin a server could allow
      return misconfigured(location.protocol === "file:"
        ? "a file:// page has no origin a server could allow: serve the page over http(s)"
        : "this frame has no origin (sandbox without allow-same-origin): its sandbox needs " +
          "allow-scripts allow-same-origin allow-popups").message;
    }
    await new Promise(function (done) { setTimeout(done, 0); }); // the violation's event comes as its own task
    if (blockedByPolicy) {
      return misconfigured("this page's Content-Security-Policy blocks " + server + ": add it to " +
        blockedByPolicy).message;
    }
    try {
      await fetch(server + "/health", { mode: "no-cors", cache: "no-store" });
      if (window.console) console.warn("article assistant widget: add " + location.origin + " to the widget origins");
      return "This site (" + location.origin + ") is not allowed to use this assistant yet. " +
        "Please let the site's owner know.";
    } catch (err) {
      if (window.console) console.warn("article assistant widget: no answer from " + server);
      return "The assistant cannot be reached right now. Please try again in a moment.";
    }
  }

  async function httpErrorMessage(response) {
    let detail = "";
    try {
      detail = (await response.json()).error || "";
    } catch (err) {
      /* not JSON */
    }
    // the key or origin, or a data-collection / data-article the server does not hold: the site's setup
    if (response.status === 401 || response.status === 403 || isSetupError(detail)) return misconfigured(detail).message;
    const wait = Number(response.headers.get("Retry-After")) || 0;
    const long = /^question: is ([\d,]+) characters; the limit is ([\d,]+)/.exec(detail);
    if (long) return "The question is too long: " + long[1] + " characters, at most " + long[2] + ".";
    if (response.status === 429) {
      return "Too many questions for now. Try again in " + (wait ? wait + (wait === 1 ? " second." : " seconds.") : "a minute.");
    }
    const what = {
      413: "The question is too long.",
      422: "The assistant could not take this question.",
    }[response.status] || "The assistant failed (HTTP " + response.status + ").";
    return detail ? what + " (" + detail + ")" : what;
  }

  // Server-Sent Events over fetch: EventSource cannot POST or send a key header.
  async function* serverSentEvents(response) {
    if (!response.body) { // a page's own fetch (over XMLHttpRequest) that cannot stream: the events at the end
      for (const block of (await response.text()).split(/\r?\n\r?\n/)) {
        const event = parseEvent(block);
        if (event) yield event;
      }
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return;
        buffer += chunk.value;
        let end;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
          const event = parseEvent(block);
          if (event) yield event;
        }
      }
    } finally {
      reader.cancel().catch(function () {});
    }
  }

  function parseEvent(block) {
    let type = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue; // comments are keep-alive pings
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
    }
    return data.length ? { type: type, data: data.join("\n") } : null;
  }

  // --- the UI -------------------------------------------------------------------
  const host = document.createElement("article-assistant"); // a tag no page stylesheet targets
  // Set through the CSSOM, which a page's Content-Security-Policy allows (an inline style attribute it may block);
  // important, so a page's `* { … !important }` does not reach in; English reads left to right on any page.
  host.style.setProperty("all", "initial", "important");
  host.style.setProperty("direction", "ltr", "important");
  if (inline) {
    host.style.setProperty("display", "block", "important");
    host.style.setProperty("height", "100%", "important");
  }
  const root = host.attachShadow({ mode: "open" });

  const frame = el("div", "frame " + (inline ? "inline" : config.position)); // inline: no floating offsets
  frame.style.visibility = "hidden"; // until styled, so no unstyled flash
  root.append(frame);
  adoptStyles().finally(function () { frame.style.visibility = ""; });

  // A constructed stylesheet, which a page's CSP allows where its style-src would block a <link> to another
  // origin (the fetch needs only connect-src, which the API needs anyway); a <link> where that is not possible.
  async function adoptStyles() {
    if ("adoptedStyleSheets" in root && "replaceSync" in CSSStyleSheet.prototype) {
      try {
        const response = await fetch(server + "/embed.css");
        if (response.ok) {
          const sheet = new CSSStyleSheet();
          sheet.replaceSync(await response.text());
          root.adoptedStyleSheets = [sheet];
          return;
        }
      } catch (err) {
        /* no fetch for it (a page's own fetch, a CSP): the <link> below */
      }
    }
    await new Promise(function (done) {
      const link = el("link");
      link.rel = "stylesheet";
      link.href = server + "/embed.css";
      link.addEventListener("load", done);
      link.addEventListener("error", function () {
        if (window.console) console.warn("article assistant widget: " + server + "/embed.css could not be loaded " +
          "(a Content-Security-Policy? allow " + server + " in connect-src; see the widget's docs)");
        done();
      });
      root.prepend(link);
    });
  }

  const launcher = button("launcher");
  launcher.appendChild(icon("chat", 26));

  const panel = el("section", "panel");
  panel.setAttribute("role", inline ? "region" : "dialog");
  panel.setAttribute("aria-label", config.title);
  const head = el("header", "head");
  const newButton = button("new", "New", "Start a new conversation");
  const closeButton = button("close", null, "Close");
  closeButton.append(icon("close", 14));
  const heading = el("div", "heading");
  heading.append(el("h2", "title", config.title));
  if (config.article) heading.append(el("p", "scope", "About this article"));
  head.append(heading, newButton);
  if (!inline) head.append(closeButton);
  const log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  const errorBox = el("div", "error");
  errorBox.setAttribute("role", "alert");
  errorBox.hidden = true;
  const form = el("form", "ask");
  const input = el("textarea");
  input.rows = 2;
  // No maxLength: a longer question than the server takes is refused with the limit, never cut unseen.
  input.placeholder = "Ask a question\u2026";
  input.setAttribute("aria-label", "Your question");
  const send = el("button", "send", "Ask");
  send.type = "button";
  form.append(input, send);
  const reader = el("section", "reader");
  reader.hidden = true;
  reader.setAttribute("aria-label", "Article reader");
  const readerHead = el("div", "reader-head");
  const backButton = button("back", null, "Back to the conversation");
  backButton.append(icon("back", 12), document.createTextNode("Back"));
  const readerTitle = el("h3", "reader-title");
  readerHead.append(backButton, readerTitle);
  const readerMeta = el("p", "reader-meta");
  const readerText = el("div", "reader-text");
  readerText.dir = "auto"; // the article's own direction
  readerText.tabIndex = 0;
  readerText.setAttribute("role", "region");
  readerText.setAttribute("aria-label", "Article text");
  reader.append(readerHead, readerMeta, readerText);
  backButton.addEventListener("click", closeReader);
  panel.append(head, log, errorBox, form, reader);
  frame.append(panel);
  if (!inline) frame.append(launcher);

  // The answer's text with each [n] a button that opens the reader at that citation (text nodes only).
  function answerText(message, citations) {
    const text = el("p", "text");
    const byN = {};
    for (const c of citations) byN[c.n] = c;
    const parts = String(message.text).split(/\[(\d{1,3})\]/);
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 0) { if (parts[i]) text.append(document.createTextNode(parts[i])); continue; }
      const c = byN[Number(parts[i])];
      if (!c) { text.append(document.createTextNode("[" + parts[i] + "]")); continue; }
      const cite = button("cite", "[" + c.n + "]", "Citation " + c.n + ": read it in " + String(c.title));
      cite.addEventListener("click", function () { openReader(c, cite); });
      text.append(cite);
    }
    return text;
  }

  // The quote, its answering phrase in bold (as on the chat page); text nodes only, never markup.
  function quoteNode(c) {
    const quote = el("blockquote", "quote");
    quote.dir = "auto"; // an article in Hebrew or Arabic reads right to left, whatever the host page's direction
    return withPhrase(quote, String(c.quote), c.phrase);
  }

  function withPhrase(node, quote, phrase) {
    const at = phrase ? quote.indexOf(String(phrase)) : -1;
    if (at < 0) {
      node.textContent = quote;
      return node;
    }
    const end = at + String(phrase).length;
    node.append(document.createTextNode(quote.slice(0, at)), el("strong", "phrase", quote.slice(at, end)),
                document.createTextNode(quote.slice(end)));
    return node;
  }

  // Who said it, for a screen reader (the two differ on screen only by side and colour).
  function userMessage(text) {
    const node = el("div", "msg user");
    node.append(el("span", "who", "You: "), document.createTextNode(String(text)));
    return node;
  }

  function renderMessage(message) {
    if (message.role === "user") return userMessage(message.text);
    const node = el("div", "msg bot" + (message.refused ? " refused" : ""));
    node.append(el("span", "who", "Assistant: "));
    const citations = Array.isArray(message.citations) ? message.citations : [];
    node.append(answerText(message, citations));
    if (message.notice) node.append(el("p", "notice", message.notice));
    if (citations.length) {
      const list = el("ol", "citations");
      for (const c of citations) {
        const item = el("li", "citation");
        const title = el("div", "citation-title");
        title.dir = "auto";
        title.append(el("span", "citation-n", "[" + c.n + "]"), document.createTextNode(String(c.title)));
        title.title = String(c.title); // shown whole on hover: a long one is cut to two lines
        // The spoken name begins with the visible words, so "Read it in the article" works by voice too.
        const read = button("read", "Read it in the article",
          "Read it in the article: citation " + c.n + ", " + String(c.title));
        read.addEventListener("click", function () { openReader(c, read); });
        item.append(title, quoteNode(c), read);
        list.append(item);
      }
      node.append(list);
    }
    if (message.id) node.append(feedbackControls(message));
    return node;
  }

  // --- feedback: thumbs up or down, then an optional comment ---------------------------------
  function feedbackControls(message) {
    const box = el("div", "feedback");
    const up = button("rate up", null, "Helpful");
    up.append(icon("up", 16));
    const down = button("rate down", null, "Not helpful");
    down.append(icon("down", 16));
    const said = el("span", "feedback-said");
    said.setAttribute("role", "status");
    const comment = el("form", "comment");
    comment.hidden = true;
    const commentBox = el("textarea");
    commentBox.rows = 2;
    commentBox.maxLength = 2000;
    commentBox.placeholder = "What was wrong or right? (optional)";
    commentBox.setAttribute("aria-label", "Comment on this answer (optional)");
    const sendComment = el("button", "send-comment", "Send");
    sendComment.type = "button";
    comment.append(commentBox, sendComment);
    function show() {
      up.setAttribute("aria-pressed", String(message.rating === "up"));
      down.setAttribute("aria-pressed", String(message.rating === "down"));
    }
    async function rate(rating, text) {
      said.textContent = "";
      try {
        const response = await fetch(server + "/api/feedback", {
          method: "POST",
          headers: authHeaders({ "Content-Type": "application/json" }),
          body: jsonText(text == null ? { answer_id: message.id, rating: rating }
            : { answer_id: message.id, rating: rating, comment: text }),
        });
        if (!response.ok) throw new Error(await httpErrorMessage(response));
        message.rating = rating;
        saveState();
        show();
        said.textContent = text == null ? "Thanks for the feedback." : "Thanks: your comment is sent.";
        comment.hidden = text != null;
      } catch (err) {
        said.textContent = err.message;
      }
    }
    up.addEventListener("click", function () { rate("up"); });
    down.addEventListener("click", function () { rate("down"); });
    comment.addEventListener("submit", function (event) { event.preventDefault(); });
    sendComment.addEventListener("click", function () {
      if (message.rating) rate(message.rating, commentBox.value.trim());
    });
    show();
    box.append(up, down, said, comment);
    return box;
  }

  // --- the reader: the whole article, the cited span marked and scrolled to --------------------
  const articles = {}; // article id -> promise of its text, fetched once
  let readerOpener = null;

  function fetchArticle(id) {
    if (!articles[id]) {
      articles[id] = fetch(server + "/api/articles/" + encodeURIComponent(id), { headers: authHeaders() })
        .then(async function (response) {
          if (!response.ok) throw new Error(await httpErrorMessage(response));
          return response.json();
        });
      articles[id].catch(function () { delete articles[id]; });
    }
    return articles[id];
  }

  // The UTF-16 index of the code point at ``points`` in ``text``.
  function utf16Index(text, points) {
    let index = 0;
    for (let seen = 0; seen < points && index < text.length; seen++) {
      const unit = text.charCodeAt(index);
      index += unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length ? 2 : 1;
    }
    return index;
  }

  async function openReader(citation, opener) {
    readerOpener = opener;
    readerTitle.textContent = String(citation.title);
    readerTitle.title = String(citation.title); // cut to three lines; whole on hover
    readerMeta.replaceChildren();
    readerText.replaceChildren(el("span", "loading", "Loading the article\u2026"));
    reader.hidden = false;
    setCovered(true);
    backButton.focus();
    try {
      const article = await fetchArticle(citation.article_id);
      const text = String(article.text);
      // start and end count characters (code points), as the server does; a JS string counts UTF-16 units, so an
      // emoji before the quote would move the span by one.
      let start = utf16Index(text, citation.start), end = utf16Index(text, citation.end);
      if (text.slice(start, end) !== citation.quote) { // the article changed since: find the quote again
        start = text.indexOf(citation.quote);
        end = start < 0 ? -1 : start + citation.quote.length;
      }
      readerMeta.append(document.createTextNode(article.published ? "Published " + article.published : "No date"));
      if (/^https?:\/\//i.test(article.url || "")) {
        const link = el("a", "original", "Original article");
        link.href = article.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        readerMeta.append(document.createTextNode(" \u00b7 "), link);
      }
      const mark = el("mark", "cited");
      if (start < 0) {
        readerText.replaceChildren(el("p", "moved", "The quoted passage is no longer in this article."),
          document.createTextNode(text));
        return;
      }
      withPhrase(mark, text.slice(start, end), citation.phrase);
      readerText.replaceChildren(document.createTextNode(text.slice(0, start)), mark,
        document.createTextNode(text.slice(end)));
      // The text alone scrolls (scrollIntoView would scroll the panel too, the reader's header off the top).
      readerText.scrollTop = Math.max(0, mark.offsetTop - (readerText.clientHeight - mark.offsetHeight) / 2);
    } catch (err) {
      const failed = el("p", "moved", err.message);
      failed.setAttribute("role", "alert"); // focus is on Back: said, or a failure would pass unheard
      readerText.replaceChildren(failed);
    }
  }

  // While the reader covers the conversation, what lies under it takes no focus or clicks.
  function setCovered(covered) {
    for (const part of [head, log, errorBox, form]) part.inert = covered;
  }

  function closeReader() {
    reader.hidden = true;
    setCovered(false);
    if (readerOpener && readerOpener.isConnected) readerOpener.focus();
  }

  function renderLog() {
    log.replaceChildren();
    if (!state.messages.length) log.append(el("p", "empty", EMPTY_LOG));
    for (const m of state.messages) log.append(renderMessage(m));
    scrollDown();
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function showPanel(open) {
    panel.hidden = !open && !inline;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", (open ? "Close " : "Open ") + config.title);
  }

  function setOpen(open) {
    state.open = open;
    showPanel(open);
    saveState();
    if (open) (reader.hidden ? input : backButton).focus(); // the question box is inert under the reader
  }

  // Bumped by New: an answer still arriving for the conversation left behind is dropped, not put in the new one.
  let conversationsStarted = 0;

  async function ask(question) {
    const startedIn = conversationsStarted;
    questionsAsked += 1;
    showError("");
    if (root.activeElement === send) input.focus(); // a disabled Ask would drop the focus to the page
    send.disabled = true;
    const history = historyTurns();
    const empty = log.querySelector(".empty");
    if (empty) empty.remove();
    // A screen reader announces the live log once the answer is whole, not word by word as it streams in.
    log.setAttribute("aria-busy", "true");
    const asked = userMessage(question);
    const pending = el("div", "msg bot pending");
    const text = el("p", "text", "\u2026");
    pending.append(el("span", "who", "Assistant: "), text);
    log.append(asked, pending);
    scrollDown();
    let streamed = "";
    try {
      const answer = await streamAnswer(question, history, function (piece) {
        streamed += piece;
        text.textContent = streamed;
        scrollDown();
      });
      if (startedIn !== conversationsStarted) return;
      const reply = {
        role: "assistant",
        text: String(answer.answer),
        citations: answer.citations || [],
        refused: answer.refused === true,
        notice: answer.notice || null,
        id: typeof answer.id === "string" ? answer.id : null, // what feedback names
      };
      pending.replaceWith(renderMessage(reply));
      if (typeof answer.conversation_id === "string") state.conversation = answer.conversation_id;
      state.messages.push({ role: "user", text: question }, reply);
      saveState();
    } catch (err) {
      if (startedIn !== conversationsStarted) return;
      // The question goes back in the box, to retry: off the log, or a retry would show it twice.
      pending.remove();
      asked.remove();
      if (!log.querySelector(".msg")) log.append(el("p", "empty", EMPTY_LOG));
      showError(err.message);
      if (!input.value) input.value = question;
    } finally {
      log.setAttribute("aria-busy", "false");
      send.disabled = false;
      scrollDown();
    }
  }

  // Asked by a click or Enter, never by submitting the form: a sandboxed iframe without allow-forms drops submits.
  function askFromBox() {
    const question = input.value.trim();
    if (!question || send.disabled) return;
    input.value = "";
    ask(question);
  }
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  send.addEventListener("click", askFromBox);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      askFromBox();
    }
  });
  newButton.addEventListener("click", function () {
    conversationsStarted += 1;
    state.messages = [];
    state.conversation = null; // the next question starts a new one (the old one stays until it expires)
    saveState();
    showError("");
    renderLog();
    input.focus();
  });
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeButton.addEventListener("click", function () { setOpen(false); launcher.focus(); });
  panel.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    if (!reader.hidden) { closeReader(); return; } // first the reader, then the panel
    if (!inline) { setOpen(false); launcher.focus(); }
  });

  // The server's copy of the conversation is the one that counts (another tab may have added to it).
  let questionsAsked = 0; // a question asked while the server's copy loads wins over that copy
  async function restoreConversation() {
    if (!state.conversation || !config.key) return;
    const asked = questionsAsked;
    try {
      const response = await fetch(server + "/api/conversations/" + encodeURIComponent(state.conversation),
        { headers: authHeaders() });
      if (questionsAsked !== asked) return;
      const saved = state.messages;
      if (response.status === 404) { // expired or deleted on the server
        state.conversation = null;
        state.messages = [];
      } else if (response.ok) {
        const kept = await response.json();
        if (questionsAsked !== asked) return;
        state.messages = [];
        for (const turn of kept.turns || []) {
          const a = turn.answer || {};
          state.messages.push({ role: "user", text: String(turn.question) }, {
            role: "assistant", text: String(a.answer || ""), citations: a.citations || [], refused: a.refused === true,
            notice: a.notice || null, id: typeof a.id === "string" ? a.id : null,
            rating: (saved.find(function (m) { return m.id === a.id; }) || {}).rating,
          });
        }
      } else {
        return; // keep what this browser saved
      }
      saveState();
      // The log is live: what is already on screen is not put there again (a screen reader would say it all again).
      const said = function (messages) { return jsonText(messages.map(function (m) { return [m.role, m.text, m.id]; })); };
      if (said(state.messages) !== said(saved)) renderLog();
    } catch (err) {
      /* unreachable: what this browser saved is shown */
    }
  }

  function mount() {
    if (inline) script.after(host);
    else document.body.append(host);
    renderLog();
    showPanel(state.open);
    restoreConversation();
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
