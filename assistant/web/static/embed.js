/*
 * Article assistant widget. On any page:
 *
 *   <script src="https://ASSISTANT-HOST/embed.js" data-key="WIDGET-KEY"
 *           data-title="Ask our articles" data-position="bottom-right"
 *           data-article="ARTICLE-ID"></script>
 *
 * data-article (optional) scopes every question to that article: "this article" then means it.
 * Without it, an article whose URL is this page's is the one in view.
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
  };
  // One conversation per assistant server (and per article in view).
  const STORAGE_KEY = "article-assistant:" + server + (config.article ? ":" + config.article : "");
  const MAX_SAVED_MESSAGES = 40;
  const HISTORY_TURNS = 6; // earlier exchanges sent along, so follow-ups resolve

  // --- small DOM helpers (text only) -------------------------------------
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

  function chatIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9l-5 4v-4H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  // --- saved conversation --------------------------------------------------
  function loadState() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}");
      const messages = Array.isArray(saved.messages) ? saved.messages.filter(isMessage) : [];
      return { messages: messages, open: saved.open === true };
    } catch (err) {
      return { messages: [], open: false };
    }
  }

  function isMessage(m) {
    return m && (m.role === "user" || m.role === "assistant") && typeof m.text === "string";
  }

  const state = loadState();

  function saveState() {
    try {
      state.messages = state.messages.slice(-MAX_SAVED_MESSAGES);
      localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (err) {
      /* storage full or blocked: the conversation just won't survive a reload */
    }
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
    // The article in view: the one the tag names, else whichever article lives at this page's link (if any).
    body.filters = config.article ? { article_ids: [config.article] } : { urls: [location.href] };
    if (inline) delete body.filters.urls; // /widget is the assistant's own page, no article's
    return body;
  }

  async function streamAnswer(question, history, onToken) {
    if (!config.key) throw new Error('This widget has no key: add data-key="..." to its script tag.');
    let response;
    try {
      response = await fetch(server + "/api/ask/stream", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "text/event-stream",
          Authorization: "Bearer " + config.key,
        },
        body: JSON.stringify(requestBody(question, history)),
      });
    } catch (err) {
      throw new Error(await whyUnreachable());
    }
    if (!response.ok) throw new Error(await httpErrorMessage(response));
    let answer = null;
    for await (const event of serverSentEvents(response.body)) {
      const data = event.data ? JSON.parse(event.data) : {};
      if (event.type === "token") onToken(String(data.text || ""));
      else if (event.type === "answer") answer = data;
      else if (event.type === "error") throw new Error(data.error || "The assistant could not answer.");
      else if (event.type === "done") break;
    }
    if (!answer) throw new Error("The answer was cut off. Please ask again.");
    return answer;
  }

  // A failed fetch hides its reason. If the server answers a no-cors request,
  // it is up, so the failure was CORS: this page's origin is not allowed.
  async function whyUnreachable() {
    try {
      await fetch(server + "/health", { mode: "no-cors", cache: "no-store" });
      return "This site (" + location.origin + ") is not allowed to use this assistant. " +
        "Its administrator must add the origin to the assistant's widget origins.";
    } catch (err) {
      return "Cannot reach the assistant at " + server + ". Check the connection and try again.";
    }
  }

  async function httpErrorMessage(response) {
    let detail = "";
    try {
      detail = (await response.json()).error || "";
    } catch (err) {
      /* not JSON */
    }
    const what = {
      401: "This widget's key was not accepted.",
      403: "This site is not allowed to use this assistant.",
      413: "The question is too long.",
      422: "The assistant could not take this question.",
      429: "Too many questions at once. Try again in " + (response.headers.get("Retry-After") || "a few") + " s.",
    }[response.status] || "The assistant failed (HTTP " + response.status + ").";
    return detail ? what + " (" + detail + ")" : what;
  }

  // Server-Sent Events over fetch: EventSource cannot POST or send a key header.
  async function* serverSentEvents(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
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
  host.setAttribute("style", inline ? "all: initial; display: block; height: 100%;" : "all: initial;");
  const root = host.attachShadow({ mode: "open" });

  const stylesheet = el("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = server + "/embed.css";
  const frame = el("div", "frame " + config.position + (inline ? " inline" : ""));
  frame.style.visibility = "hidden"; // until styled, so no unstyled flash
  const reveal = function () { frame.style.visibility = ""; };
  stylesheet.addEventListener("load", reveal);
  stylesheet.addEventListener("error", reveal);
  root.append(stylesheet, frame);

  const launcher = button("launcher");
  launcher.appendChild(chatIcon());

  const panel = el("section", "panel");
  panel.setAttribute("role", inline ? "region" : "dialog");
  panel.setAttribute("aria-label", config.title);
  const head = el("header", "head");
  const newButton = button("new", "New", "Start a new conversation");
  const closeButton = button("close", "\u00d7", "Close");
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
  input.maxLength = 2000;
  input.placeholder = "Ask a question\u2026";
  input.setAttribute("aria-label", "Your question");
  const send = el("button", "send", "Ask");
  send.type = "submit";
  form.append(input, send);
  panel.append(head, log, errorBox, form);
  frame.append(panel);
  if (!inline) frame.append(launcher);

  function renderMessage(message) {
    if (message.role === "user") return el("div", "msg user", message.text);
    const node = el("div", "msg bot" + (message.refused ? " refused" : ""));
    node.append(el("p", "text", message.text));
    if (message.notice) node.append(el("p", "notice", message.notice));
    const citations = Array.isArray(message.citations) ? message.citations : [];
    if (citations.length) {
      const list = el("ol", "citations");
      for (const c of citations) {
        const item = el("li", "citation");
        const title = el("div", "citation-title");
        title.append(el("span", "citation-n", "[" + c.n + "]"), document.createTextNode(String(c.title)));
        item.append(title, el("blockquote", "quote", String(c.quote)));
        list.append(item);
      }
      node.append(list);
    }
    return node;
  }

  function renderLog() {
    log.replaceChildren();
    if (!state.messages.length) log.append(el("p", "empty", "Ask anything about the articles. Answers cite their sources."));
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
    if (open) input.focus();
  }

  async function ask(question) {
    showError("");
    send.disabled = true;
    const history = historyTurns();
    const empty = log.querySelector(".empty");
    if (empty) empty.remove();
    const asked = el("div", "msg user", question);
    const pending = el("div", "msg bot pending");
    const text = el("p", "text", "\u2026");
    pending.append(text);
    log.append(asked, pending);
    scrollDown();
    let streamed = "";
    try {
      const answer = await streamAnswer(question, history, function (piece) {
        streamed += piece;
        text.textContent = streamed;
        scrollDown();
      });
      const reply = {
        role: "assistant",
        text: String(answer.answer),
        citations: answer.citations || [],
        refused: answer.refused === true,
        notice: answer.notice || null,
      };
      pending.replaceWith(renderMessage(reply));
      state.messages.push({ role: "user", text: question }, reply);
      saveState();
    } catch (err) {
      // The question stays on screen (not saved) and back in the box, to retry.
      pending.remove();
      showError(err.message);
      if (!input.value) input.value = question;
    } finally {
      send.disabled = false;
      scrollDown();
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || send.disabled) return;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  newButton.addEventListener("click", function () {
    state.messages = [];
    saveState();
    showError("");
    renderLog();
    input.focus();
  });
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeButton.addEventListener("click", function () { setOpen(false); launcher.focus(); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !inline) { setOpen(false); launcher.focus(); }
  });

  function mount() {
    if (inline) script.after(host);
    else document.body.append(host);
    renderLog();
    showPanel(state.open);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
