// An accessibility check run in the page: what an automated checker
// finds without a person: the document's language and title, the main
// and navigation landmarks, one h1, a label for every form control, a
// text alternative for every image and a title for every frame, a name
// for every link and button, unique IDs, aria-describedby pointing at
// elements that exist, and a contrast of at least 4.5:1 (WCAG AA for
// body text) between every rendered text's colour and the background it
// is drawn on. It returns the problems found, as sentences.
(() => {
  const problems = [];
  const html = document.documentElement;
  if (!html.getAttribute('lang')) problems.push('the html element has no lang');
  if (!document.title.trim()) problems.push('the document has no title');
  if (!document.querySelector('main')) problems.push('no main landmark');
  if (!document.querySelector('nav')) problems.push('no nav landmark');
  if (document.querySelectorAll('h1').length !== 1) problems.push('the page has ' + document.querySelectorAll('h1').length + ' h1 headings, not one');
  const short = (el) => el.outerHTML.slice(0, 120);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const byFor = el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]');
    if (!byFor && !el.closest('label') && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) {
      problems.push('a form control without a label: ' + short(el));
    }
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push('an image without alt: ' + short(img));
  }
  for (const f of document.querySelectorAll('iframe')) {
    if (!f.getAttribute('title')) problems.push('a frame without a title: ' + short(f));
  }
  for (const el of document.querySelectorAll('a[href], button')) {
    if (!el.textContent.trim() && !el.getAttribute('aria-label')) problems.push('a link or button without a name: ' + short(el));
  }
  const ids = new Set();
  for (const el of document.querySelectorAll('[id]')) {
    if (ids.has(el.id)) problems.push('the id ' + el.id + ' is used twice');
    ids.add(el.id);
  }
  for (const el of document.querySelectorAll('[aria-describedby]')) {
    for (const id of el.getAttribute('aria-describedby').split(/\s+/)) {
      if (id && !document.getElementById(id)) problems.push('aria-describedby names ' + id + ', which is not there: ' + short(el));
    }
  }
  const rgba = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(parseFloat);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const luminance = (c) => {
    const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden' || el.closest('[hidden]') || el.getClientRects().length === 0) continue;
    const fg = rgba(cs.color);
    if (!fg) continue;
    const bg = background(el);
    const l1 = luminance(fg), l2 = luminance(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < 4.5) {
      problems.push('contrast ' + ratio.toFixed(2) + ':1 for "' + node.textContent.trim().slice(0, 40) + '" (' + cs.color + ' on rgb(' + bg.r + ', ' + bg.g + ', ' + bg.b + '))');
    }
  }
  return problems;
})()
