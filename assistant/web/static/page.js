() => {
  // The chat page's citations: a click on [n] (or "Read it in the article") opens the reader at that passage.
  // Gradio renders the links from escaped HTML (render.py); this only routes their clicks to the
  // open_citation handler, through a hidden button, and scrolls the reader to the highlighted span.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    window.assistantCitation = link.getAttribute("href").slice("#cite-".length);
    window.assistantOpener = link; // where "Back to the answer" returns
    const open = document.getElementById("open-citation");
    if (open) open.click();
  }, true);

  // "Back to the answer" in the reader: to the [n] (or card) that opened it, scrolled to and focused (on a phone
  // the reader is far below the conversation).
  document.addEventListener("click", (event) => {
    const back = event.target.closest && event.target.closest("a.reader-back");
    if (!back) return;
    event.preventDefault();
    const opener = window.assistantOpener;
    const target = opener && opener.isConnected ? opener : document.getElementById("chat");
    if (!target) return;
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }, true);

  window.assistantShowCitation = () => {
    const mark = document.querySelector("#reader mark.cited");
    const title = document.querySelector("#reader .reader-title");
    if (title) title.focus({ preventScroll: true }); // screen readers announce the article that opened
    if (mark) mark.scrollIntoView({ block: "center" });
  };

  // "Articles in view": Enter takes the first article listed for what was typed, never the typed text itself
  // (the picker accepts any value so that ids sent to the page's HTTP endpoints are checked by the server,
  // and Gradio would keep "Kerr" as an article). An option chosen with the arrow keys is Gradio's to take.
  document.addEventListener("keydown", (event) => {
    const input = event.key === "Enter" && !event.isComposing && event.target.closest
      && event.target.closest("#scope input");
    if (!input) return;
    const list = document.getElementById(input.getAttribute("aria-controls") || "");
    if (list && list.querySelector('li[role="option"].active')) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const first = list && list.querySelector('li[role="option"]:not(.selected)');
    // Gradio picks an option on its list's mousedown (so that the input keeps focus).
    if (input.value.trim() && first) first.dispatchEvent(new MouseEvent("mousedown", { bubbles: true, cancelable: true }));
  }, true);

  // On a phone the conversations sidebar covers the page: start with it closed (its toggle opens it),
  // and close it again once a conversation is chosen.
  const narrow = window.matchMedia("(max-width: 768px)");
  const closeSidebar = () => {
    const sidebar = document.getElementById("sidebar");
    if (sidebar && sidebar.classList.contains("open")) sidebar.querySelector(".toggle-button").click();
    return Boolean(sidebar);
  };
  if (narrow.matches) {
    let tries = 0;
    const wait = setInterval(() => { if (closeSidebar() || ++tries > 100) clearInterval(wait); }, 50);
  }
  document.addEventListener("change", (event) => {
    if (narrow.matches && event.target.closest && event.target.closest("#conversations")) closeSidebar();
  });

  // Gradio names each message by its raw content: an answer's holds the [n] links' markup, and a question's
  // its escaped text ("&amp;"); name each by the text shown instead (what a screen reader should say).
  const nameMessages = () => {
    for (const [who, said] of [["bot", "bot's message: "], ["user", "user's message: "]]) {
      for (const message of document.querySelectorAll(`#chat [data-testid="${who}"][aria-label]`)) {
        const text = message.querySelector(".message-content");
        const name = said + (text ? text.textContent.trim() : "");
        if (text && message.getAttribute("aria-label") !== name) message.setAttribute("aria-label", name);
      }
    }
  };
  // What an upload or a removal did is said to a screen reader: its box is a live region from the start (one
  // made with its words already in it is often not read).
  const liveStatus = () => {
    const box = document.getElementById("upload-status");
    if (box && !box.hasAttribute("role")) box.setAttribute("role", "status");
  };
  new MutationObserver(() => { nameMessages(); liveStatus(); })
    .observe(document.body, { subtree: true, childList: true, characterData: true });
}
