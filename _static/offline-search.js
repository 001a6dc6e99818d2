// Search result snippets for a book opened from disk (a file:// URL). On the search page only
// (book/_ext/offline_search.py adds this script there and keeps it off the other pages).
//
// Sphinx's searchtools.js fetches each hit's HTML page to cut the lines shown under the hit,
// and Chromium refuses fetch() of file:// URLs, so offline the hits came without snippets.
// The build writes _static/search-pages.js: window.COURSE_SEARCH_PAGES maps each page's URL,
// relative to the book's root, to the text of its main content (with the section ids the
// search's anchors point to). From file:// this script loads that file with a <script> tag
// (allowed where fetch is not) and answers fetch() of those pages from it. Over http it loads
// nothing and fetch() is left alone.
(() => {
  if (location.protocol !== "file:") return;
  const realFetch = window.fetch.bind(window);
  // The book's root, from which searchtools builds its request URLs (content root + docname).
  const root = new URL(document.documentElement.dataset.content_root || "./", location.href).href;
  // Loaded at once, while the page is still parsing; a fetch made before it arrives waits.
  const pages = new Promise((resolve) => {
    const script = document.createElement("script");
    script.src = new URL("search-pages.js", document.currentScript.src).href;
    script.onload = () => resolve(window.COURSE_SEARCH_PAGES || {});
    script.onerror = () => resolve({}); // no snippets then, as before: the real fetch fails
    document.head.appendChild(script);
  });

  window.fetch = function (resource, options) {
    const url = new URL(resource instanceof Request ? resource.url : String(resource), document.baseURI);
    url.hash = url.search = "";
    if (!url.href.startsWith(root)) return realFetch(resource, options);
    const key = decodeURI(url.href.slice(root.length));
    return pages.then((texts) => Object.prototype.hasOwnProperty.call(texts, key)
      ? new Response(texts[key], { headers: { "Content-Type": "text/html" } })
      : realFetch(resource, options));
  };
})();
