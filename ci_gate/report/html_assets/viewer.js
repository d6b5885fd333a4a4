// ci-gate report viewer: draws the report from the JSON in #data. Every string of the data is
// put into the page as text (createTextNode / textContent), never parsed as markup, so a model
// output cannot add an element, an attribute or a script. No network: the page's CSP forbids it.
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("data").textContent);
  var R = D.report, C = R.comparison, G = R.gate;
  var CASES = D.cases;
  var PAGE = 200;
  var STATUS_ORDER = ["regressed", "errored", "flaky", "edited", "added", "removed", "fixed",
    "failing", "unchanged"];
  var STATUS_TEXT = {
    regressed: "regressed", errored: "errored", flaky: "flaky", edited: "definition changed",
    added: "new", removed: "removed", fixed: "fixed", failing: "still failing",
    unchanged: "unchanged"
  };
  var MOVED = { regressed: 1, errored: 1, flaky: 1, edited: 1, added: 1, removed: 1, fixed: 1 };
  var VERDICT_TEXT = { pass: "Pass", fail: "Fail", inconclusive: "Inconclusive", error: "Error" };
  var SVGNS = "http://www.w3.org/2000/svg";
  var MISSING = "—";
  // Characters that would be invisible or reorder the text around them: shown as a marked code.
  var HIDDEN_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/g;

  // --- building the page -----------------------------------------------------------------------

  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      for (var key in props) {
        if (key === "cls") node.className = props[key];
        else if (key === "text") node.textContent = props[key];
        else node.setAttribute(key, props[key]);
      }
    }
    add.apply(null, [node].concat(Array.prototype.slice.call(arguments, 2)));
    return node;
  }

  // add(node, child...): nodes as they are, other values as text; arrays flattened, nulls skipped.
  function add(node) {
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) child.forEach(function (c) { add(node, c); });
      else node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  // Untrusted text with invisible and direction-changing characters made visible.
  function shown(text) {
    var frag = document.createDocumentFragment();
    var s = String(text), last = 0, m;
    HIDDEN_RE.lastIndex = 0;
    while ((m = HIDDEN_RE.exec(s)) !== null) {
      if (m.index > last) frag.appendChild(document.createTextNode(s.slice(last, m.index)));
      var code = m[0].length === 2
        ? ((m[0].charCodeAt(0) - 0xd800) * 0x400 + (m[0].charCodeAt(1) - 0xdc00) + 0x10000)
        : m[0].charCodeAt(0);
      var hex = code.toString(16).toUpperCase();
      frag.appendChild(el("span", { cls: "ctl", title: "hidden character U+" + hex,
        text: "U+" + ("0000" + hex).slice(-Math.max(4, hex.length)) }));
      last = m.index + m[0].length;
    }
    if (last < s.length) frag.appendChild(document.createTextNode(s.slice(last)));
    return frag;
  }

  function short(text, n) {
    var s = String(text);
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVGNS, tag);
    for (var key in attrs) node.setAttribute(key, String(attrs[key]));
    return node;
  }

  function svgText(x, y, text, cls, anchor) {
    var t = svg("text", { x: x, y: y, "text-anchor": anchor || "start" });
    if (cls) t.setAttribute("class", cls);
    t.textContent = text;
    return t;
  }

  function link(hash, text) { return el("a", { href: "#" + hash, text: text }); }

  // --- numbers -------------------------------------------------------------------------------

  function finite(v) { return typeof v === "number" && isFinite(v); }
  function signed(v, d) {
    var t = v.toFixed(d);
    if (Number(t) === 0) return Math.abs(0).toFixed(d);
    return (v > 0 ? "+" : "") + t;
  }
  function pct(v, d) { return finite(v) ? (v * 100).toFixed(d === undefined ? 1 : d) + "%" : MISSING; }
  function pts(v) { return finite(v) ? signed(v * 100, 1) + " pt" : MISSING; }
  function ms(v) {
    if (!finite(v)) return MISSING;
    return Math.abs(v) < 10 ? v.toFixed(1) + " ms" : Math.round(v).toLocaleString("en-US") + " ms";
  }
  function usd(v) {
    if (!finite(v)) return MISSING;
    if (v < 0) return "-" + usd(-v);
    if (v >= 1000) return "$" + Math.round(v).toLocaleString("en-US");
    if (v >= 1 || v === 0) return "$" + v.toFixed(2);
    var d = Math.max(2, 2 - Math.floor(Math.log10(v)));
    var t = v.toFixed(d).replace(/0+$/, "");
    if (t.split(".")[1].length < 2) t = v.toFixed(2);
    return "$" + t;
  }
  function count(v) {
    if (!finite(v)) return MISSING;
    return Math.abs(v) < 10 && v !== Math.round(v) ? v.toFixed(1) : Math.round(v).toLocaleString("en-US");
  }
  function num(n) { return Number(n).toLocaleString("en-US"); }
  function plural(n, word) { return num(n) + " " + word + (n === 1 ? "" : "s"); }
  function pvalue(p) {
    if (!finite(p)) return MISSING;
    if (p < 0.001) return "<0.001";
    if (p >= 0.995) return "1";
    return p < 0.01 ? p.toFixed(3) : p.toFixed(2);
  }

  function valueText(m, v) {
    if (m.kind === "rate" || m.kind === "errors") return pct(v);
    if (m.kind === "score") return finite(v) ? v.toFixed(3) : MISSING;
    if (m.kind === "latency") return ms(v);
    if (m.kind === "cost") return usd(v);
    return count(v);
  }

  // The change and its interval in the metric's unit: points, score, or percent of the baseline.
  function scaled(m) {
    if (m.kind === "rate" || m.kind === "errors") return { f: 100, unit: " pt", d: 1 };
    if (m.kind === "score") return { f: 1, unit: "", d: 3 };
    if (!finite(m.base) || m.base === 0) return null;
    return { f: 100 / Math.abs(m.base), unit: "%", d: 1 };
  }
  function changeText(m) {
    var s = scaled(m);
    if (!s || !finite(m.delta)) return MISSING;
    return signed(m.delta * s.f, s.d) + s.unit;
  }
  function intervalText(m) {
    var s = scaled(m);
    if (!s || !finite(m.low) || !finite(m.high)) return "";
    return signed(m.low * s.f, s.d) + " to " + signed(m.high * s.f, s.d) + s.unit;
  }

  var CHECKS = {};
  var RANK = { ok: 0, info: 0, warn: 1, inconclusive: 2, fail: 3, error: 4 };
  G.checks.forEach(function (c) {
    var seen = CHECKS[c.key];
    if (!seen || RANK[c.status] > RANK[seen.status]) CHECKS[c.key] = c;
  });

  function gateCell(key) {
    var c = CHECKS[key];
    if (!c) return el("td");
    var words = c.status + (c.threshold ? " · " + c.threshold : "") +
      (!c.blocking && c.status !== "ok" && c.status !== "info" ? " · warn only" : "");
    return el("td", { cls: "gate g-" + c.status, title: c.reason }, words);
  }

  // --- the state, kept in the URL's fragment so that a link opens a filtered view -------------

  // fm, bh: a failure mode and a behaviour of the spec, matched through CaseInfo.links().
  var KEYS = ["status", "tag", "layer", "fm", "bh", "q", "sort", "case"];
  var SELECTS = ["status", "tag", "layer", "fm", "bh", "sort"];
  function blank() {
    return { status: "", tag: "", layer: "", fm: "", bh: "", q: "", sort: "severity", "case": "" };
  }
  var state = blank();
  var shownRows = PAGE;

  function readHash() {
    var next = blank();
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var i = part.indexOf("=");
      if (i < 1) return;
      var key = part.slice(0, i), value;
      try { value = decodeURIComponent(part.slice(i + 1).replace(/\+/g, " ")); } catch (e) { return; }
      if (Object.prototype.hasOwnProperty.call(next, key)) next[key] = value;
    });
    return next;
  }

  function hashOf(s) {
    var parts = [];
    KEYS.forEach(function (key) {
      if (s[key] && !(key === "sort" && s[key] === "severity")) {
        parts.push(key + "=" + encodeURIComponent(s[key]));
      }
    });
    return parts.join("&");
  }

  function setState(patch) {
    var next = {};
    for (var k in state) next[k] = state[k];
    for (var p in patch) next[p] = patch[p];
    var hash = hashOf(next);
    fromControls = !patch["case"];
    if (location.hash.replace(/^#/, "") === hash) { apply(next); return; }
    location.hash = hash;  // hashchange applies it, and Back returns to the previous view
  }

  function filterHash(patch) {
    var s = blank();
    for (var p in patch) s[p] = patch[p];
    return hashOf(s);
  }

  // --- the header: verdict, reasons, the way to the cases -------------------------------------

  function countOf(status) {
    return CASES.filter(function (c) { return c.status === status; }).length;
  }

  function commitText(run) {
    var git = run.git || {};
    var text = git.commit ? String(git.commit).slice(0, 12) : "an unknown commit";
    if (git.branch) text += " on " + git.branch;
    if (git.dirty) text += " (with uncommitted changes)";
    return text + ", " + run.target_id + (run.model ? " (" + run.model + ")" : "") +
      ", finished " + String(run.finished_at).slice(0, 19).replace("T", " ");
  }

  function checkLink(c) {
    var key = c.key, dot = key.indexOf("."), rest = key.slice(dot + 1);
    if (key.indexOf("layer.") === 0) return [filterHash({ status: "regressed", layer: rest }), "regressed cases on this layer"];
    if (key.indexOf("tag.") === 0) return [filterHash({ status: "regressed", tag: rest }), "regressed cases with this tag"];
    if (key.indexOf("failure_mode.") === 0) return [filterHash({ status: "regressed", fm: rest }), "regressed cases linked to this failure mode"];
    if (key.indexOf("behaviour.") === 0) return [filterHash({ status: "regressed", bh: rest }), "regressed cases linked to this behaviour"];
    if (key.indexOf("assertion.") === 0) return [filterHash({ status: "regressed", q: rest }), "regressed cases"];
    if (key.indexOf("quality.") === 0) return [filterHash({ status: "regressed" }), "regressed cases"];
    if (key.indexOf("errors.") === 0) return [filterHash({ status: "errored" }), "errored cases"];
    if (key.indexOf("latency.") === 0) return [filterHash({ sort: "latency" }), "cases, slowest change first"];
    if (key.indexOf("cost.") === 0 || key.indexOf("tokens.") === 0) return [filterHash({ sort: "cost" }), "cases, costliest change first"];
    return null;
  }

  function header() {
    var v = R.verdict;
    var reasons = el("ul", { cls: "reasons" });
    G.reasons.forEach(function (r) { add(reasons, el("li", null, shown(r))); });
    (G.tradeoffs_applied || []).forEach(function (t) {
      add(reasons, el("li", null, "Accepted trade-off: ", shown(t)));
    });
    var jumps = el("p", { cls: "jumps" });
    var regressed = countOf("regressed"), errored = countOf("errored"), fixed = countOf("fixed");
    if (regressed) add(jumps, el("a", { cls: "jump bad", href: "#" + filterHash({ status: "regressed" }), id: "jump-regressed" }, "Show the " + plural(regressed, "regressed case")));
    if (errored) add(jumps, el("a", { cls: "jump", href: "#" + filterHash({ status: "errored" }) }, "Show the " + plural(errored, "errored case")));
    if (fixed) add(jumps, el("a", { cls: "jump good", href: "#" + filterHash({ status: "fixed" }) }, "Show the " + plural(fixed, "fixed case")));
    add(jumps, el("a", { cls: "jump", href: "#" + filterHash({ status: "" }) }, "All " + plural(CASES.length, "case")));

    var checks = G.checks.filter(function (c) { return c.status !== "ok" && c.status !== "info"; });
    var checkList = null;
    if (checks.length) {
      checkList = el("ul", { cls: "checks" });
      checks.forEach(function (c) {
        var target = checkLink(c);
        add(checkList, el("li", null,
          el("span", { cls: "gate g-" + c.status, text: c.status + (c.blocking || c.status === "warn" ? "" : " (warn only)") }), " ",
          el("code", { text: c.key }), " ", shown(c.reason), " ",
          target ? link(target[0], "→ " + target[1]) : null));
      });
    }
    var comp = C.comparability;
    var modeText = G.mode === "release"
      ? "Release mode: the gate passes only when even the pessimistic end of each interval stays within the margin."
      : "Pull-request mode: a blocking metric fails the gate only when its drop is larger than the margin and too large to be chance.";
    return el("header", { cls: "verdict v-" + v, id: "verdict" },
      el("div", { cls: "badge", id: "verdict-word", text: VERDICT_TEXT[v] || v }),
      el("h1", null, shown(D.title)),
      el("p", { cls: "headline", id: "headline" }, shown(G.headline)),
      reasons,
      comp.comparable ? null : el("p", { cls: "warning" },
        "The two runs differ in more than the change under test, so the numbers are for reference only: ",
        shown(comp.reasons.join("; "))),
      jumps,
      checkList ? el("details", { open: "" }, el("summary", { text: "Checks that did not pass" }), checkList) : null,
      el("p", { cls: "meta" }, "Baseline: ", shown(commitText(C.base)), ". This run: ", shown(commitText(C.head)), "."),
      el("p", { cls: "meta" }, modeText));
  }

  // --- the changes in the spec's words: failure modes (most severe first), then behaviours ----

  var SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3 };
  var PRIMARY = { "quality.pass_rate": "the pass rate", "quality.score": "the mean score",
    "quality.preference": "the judge's preference for this run's outputs" };
  var SPECS = [C.head.spec, C.base.spec].filter(function (x) { return x && typeof x === "object"; });
  // Per kind, name -> its entry in the spec; no prototype, as the names are untrusted.
  var SPEC_NAMES = { fm: Object.create(null), bh: Object.create(null) };
  SPECS.forEach(function (spec) {
    [["fm", spec.failure_modes], ["bh", spec.behaviours]].forEach(function (p) {
      (Array.isArray(p[1]) ? p[1] : []).forEach(function (e) {
        if (e && typeof e.name === "string" && !(e.name in SPEC_NAMES[p[0]])) SPEC_NAMES[p[0]][e.name] = e;
      });
    });
  });

  function has(obj, key) { return Object.prototype.hasOwnProperty.call(obj, key); }

  function severityOf(field, name) {
    var e = field === "fm" ? SPEC_NAMES.fm[name] : null;
    return e && has(SEVERITY_RANK, e.severity) ? e.severity : "";
  }

  function specNames(field) {
    var rank = function (n) { var s = severityOf(field, n); return s ? SEVERITY_RANK[s] : 4; };
    return Object.keys(SPEC_NAMES[field]).sort(function (a, b) { return rank(a) - rank(b); });  // stable
  }

  function metricOf(key) {
    return [].concat(C.quality, C.slices, C.layers, C.latency, C.cost, [C.errors])
      .filter(function (m) { return m && m.key === key; })[0] || null;
  }

  function confidenceText() {
    return C.settings && finite(C.settings.confidence) ? Math.round(C.settings.confidence * 1000) / 10 + "%" : "95%";
  }

  function withInterval(m) {
    var i = intervalText(m);
    return changeText(m) + ", " + (i ? confidenceText() + " interval " + i : "no interval: too little data");
  }

  // What differs between the runs, as the markdown report says it (prompt ids are untrusted).
  function changedParts() {
    var comp = C.comparability, parts = [], prompts = comp.prompts_changed || [];
    if (prompts.length) {
      var q = prompts.slice(0, 5).map(function (p) { return "\"" + short(p, 60) + "\""; });
      if (prompts.length > 5) q.push(num(prompts.length - 5) + " more");
      parts.push("the prompt" + (prompts.length === 1 ? " " : "s ") + (q.length === 1 ? q[0] : q.slice(0, -1).join(", ") + " and " + q[q.length - 1]));
    }
    if (comp.target_changed) parts.push("the target (model or its parameters)");
    if (comp.assertions_changed) parts.push("the suite's default assertions");
    if (comp.repeats_changed) parts.push("the number of repeats");
    if (comp.prices_changed) parts.push("the price table");
    return parts;
  }

  function primaryText() {
    var key = (SPECS.filter(function (s) { return s.optimise_for; })[0] || {}).optimise_for;
    if (typeof key !== "string" || !has(PRIMARY, key)) return null;
    var m = metricOf(key), what = "The team optimises for " + PRIMARY[key];
    if (!m || !finite(m.delta)) return what + "; this comparison could not measure it.";
    return what + ": " + valueText(m, m.base) + " → " + valueText(m, m.head) + " (" + withInterval(m) + ").";
  }

  // How many of the entry's cases moved this way, linking to the table filtered to them.
  function impactCell(ids, field, name, status, words) {
    if (!ids.length) return el("td", { cls: "num dim", text: "0" });
    var patch = { status: status };
    patch[field] = name;
    return el("td", null,
      el("a", { cls: "spec-link", "data-status": status, href: "#" + filterHash(patch) }, plural(ids.length, "case") + " " + words),
      el("div", { cls: "ids dim" }, ids.slice(0, 5).map(function (id, i) {
        return [i ? ", " : "", el("a", { href: "#" + filterHash(Object.assign({ "case": id }, patch)) }, shown(short(id, 60)))];
      }), ids.length > 5 ? ", …" : ""));
  }

  function impactRow(imp) {
    var it = imp.item, field = it.kind === "failure_mode" ? "fm" : "bh", key = it.kind + "." + it.name;
    var sev = field === "fm" && has(SEVERITY_RANK, it.severity) ? it.severity : "";
    var m = metricOf(key), layer = imp.layers[0], hints = D.layer_hints || {};
    var where = layer === undefined ? MISSING : !has(hints, layer) ? shown(layer)
      : [hints[layer].name, el("div", { cls: "dim", text: hints[layer].hint })];
    return el("tr", { cls: imp.regressed.length ? "sp-bad" : imp.fixed.length ? "sp-good" : "", "data-spec": key },
      el("td", { cls: "spec-name" }, field === "fm" ? "failure mode " : "behaviour ", el("strong", null, shown(it.name)),
        sev ? [" ", el("span", { cls: "sev sev-" + sev, text: sev })] : null,
        it.description ? el("div", { cls: "desc" }, shown(it.description)) : null),
      impactCell(imp.regressed, field, it.name, "regressed", imp.regressed.length === 1 ? "newly fails" : "newly fail"),
      impactCell(imp.fixed, field, it.name, "fixed", "fixed"),
      impactCell(imp.errored, field, it.name, "errored", "errored, not counted"),
      el("td", { cls: "num" }, m ? [valueText(m, m.base) + " → " + valueText(m, m.head), el("div", { cls: "dim", text: withInterval(m) })] : MISSING),
      gateCell(key), el("td", null, where));
  }

  function specSection() {
    if (!SPECS.some(function (s) { return Object.keys(s).length; })) return null;
    var impacts = C.spec_impact || [], primary = primaryText(), parts = changedParts();
    var regressed = impacts.some(function (imp) { return imp.regressed.length; });
    return el("section", { id: "spec" }, el("h2", { text: "In the spec's words" }),
      primary ? el("p", { id: "spec-primary" }, primary) : null,
      regressed && parts.length ? el("p", null, "What changed: ", shown(parts.join("; ")), ".") : null,
      impacts.length ? [el("div", { cls: "card" }, el("table", { cls: "metrics spec", id: "spec-impact" },
        el("thead", null, el("tr", null, ["failure mode or behaviour", "newly failing", "fixed", "errored", "pass rate of its cases",
          "gate", "where to intervene"].map(function (h) { return el("th", { text: h }); }))),
        el("tbody", null, impacts.map(impactRow)))),
      el("p", { cls: "meta", text: "A case counts here when it links to the name, or when an assertion that links to it moved as the " +
        "case did; the table's filters keep every case that links to it, itself or through any assertion." })]
        : el("p", { cls: "dim", text: "No case linked to a behaviour or failure mode changed its outcome." }));
  }

  // --- metric tables and the forest plot of their changes -------------------------------------

  function metricTable(title, metrics, withCounts) {
    if (!metrics.length) return null;
    var body = el("tbody");
    metrics.forEach(function (m) {
      add(body, el("tr", null,
        el("td", null, shown(m.label)),
        el("td", { cls: "num", text: valueText(m, m.base) }),
        el("td", { cls: "num", text: valueText(m, m.head) }),
        el("td", { cls: "num", text: changeText(m) }),
        el("td", { cls: "num dim", text: intervalText(m) }),
        el("td", { cls: "num", text: pvalue(m.p_value) }),
        withCounts ? el("td", { cls: "num", text: m.kind === "rate" ? num(m.regressed) + " / " + num(m.fixed) : MISSING }) : null,
        gateCell(m.key)));
      if (m.note) add(body, el("tr", { cls: "note" }, el("td", { colspan: withCounts ? 8 : 7 }, shown(m.note))));
    });
    var conf = confidenceText();
    return el("div", { cls: "card" }, el("h3", { text: title }),
      el("table", { cls: "metrics" },
        el("thead", null, el("tr", null, el("th", { text: "metric" }), el("th", { text: "baseline" }),
          el("th", { text: "this run" }), el("th", { text: "change" }), el("th", { text: conf + " interval" }),
          el("th", { text: "p" }), withCounts ? el("th", { text: "regressed / fixed" }) : null, el("th", { text: "gate" }))),
        body));
  }

  function worthShowing(m) {
    if (m.key.indexOf("assertion.") !== 0 || CHECKS[m.key]) return true;
    return m.regressed || m.fixed || (finite(m.delta) && Math.abs(m.delta) > 1e-12);
  }

  function forest(title, rows, unit) {
    rows = rows.filter(function (r) { return finite(r.d); });
    if (!rows.length) return null;
    var ext = 0;
    rows.forEach(function (r) { [r.d, r.lo, r.hi].forEach(function (v) { if (finite(v)) ext = Math.max(ext, Math.abs(v)); }); });
    ext = ext > 0 ? ext * 1.1 : 1;
    var W = 760, LW = 250, X0 = LW + 10, X1 = W - 20, RH = 22, H = rows.length * RH + 40;
    var x = function (v) { return X0 + (Math.max(-ext, Math.min(ext, v)) + ext) / (2 * ext) * (X1 - X0); };
    var g = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "class": "chart" });
    add(g, svgText(x(0), 12, "0", "axis", "middle"));
    add(g, svgText(X0, 12, signed(-ext, 1) + unit, "axis", "start"));
    add(g, svgText(X1, 12, signed(ext, 1) + unit, "axis", "end"));
    add(g, svg("line", { x1: x(0), x2: x(0), y1: 18, y2: H - 10, "class": "zero" }));
    rows.forEach(function (r, i) {
      var y = 30 + i * RH;
      var label = svgText(LW, y + 4, short(r.label, 38), "label", "end");
      var tip = svg("title", {});
      tip.textContent = r.label + ": " + signed(r.d, 1) + unit +
        (finite(r.lo) && finite(r.hi) ? " (" + signed(r.lo, 1) + " to " + signed(r.hi, 1) + unit + ")" : "");
      label.appendChild(tip);
      add(g, label);
      var cls = "mark s-" + (r.status || "none");
      if (finite(r.lo) && finite(r.hi)) add(g, svg("line", { x1: x(r.lo), x2: x(r.hi), y1: y, y2: y, "class": cls }));
      var dot = svg("circle", { cx: x(r.d), cy: y, r: 4.5, "class": cls });
      dot.appendChild(tip.cloneNode(true));
      add(g, dot);
    });
    return el("div", { cls: "card" }, el("h3", { text: title }), g);
  }

  function forestRows(metrics, mode) {
    return metrics.map(function (m) {
      var f = 100;
      if (mode === "relative") {
        if (!finite(m.base) || m.base === 0) return { d: null };
        f = 100 / Math.abs(m.base);
      }
      var check = CHECKS[m.key];
      return { label: m.label, d: finite(m.delta) ? m.delta * f : null, lo: finite(m.low) ? m.low * f : null,
        hi: finite(m.high) ? m.high * f : null, status: check ? check.status : null };
    });
  }

  function movedMetrics(list) {
    return list.filter(function (m) {
      var c = CHECKS[m.key];
      return (finite(m.delta) && m.delta !== 0) || (c && c.status !== "ok" && c.status !== "info");
    }).sort(function (a, b) {
      var da = a.higher_is_better ? a.delta : -a.delta, db = b.higher_is_better ? b.delta : -b.delta;
      return (finite(da) ? da : 0) - (finite(db) ? db : 0);
    });
  }

  // The case filter that a slice's metric key names: layer.x, tag.x, failure_mode.x, behaviour.x.
  var SLICE_FILTERS = { layer: "layer", tag: "tag", failure_mode: "fm", behaviour: "bh" };

  function slicesTable(title, metrics) {
    if (!metrics.length) return null;
    var body = el("tbody");
    metrics.forEach(function (m) {
      var dot = m.key.indexOf("."), prefix = m.key.slice(0, dot);
      var filterKey = Object.prototype.hasOwnProperty.call(SLICE_FILTERS, prefix) ? SLICE_FILTERS[prefix] : null;
      var patch = { status: "regressed" };
      if (filterKey) patch[filterKey] = m.key.slice(dot + 1);
      add(body, el("tr", null,
        el("td", null, shown(m.label)),
        el("td", { cls: "num", text: pct(m.base) }), el("td", { cls: "num", text: pct(m.head) }),
        el("td", { cls: "num", text: changeText(m) }), el("td", { cls: "num dim", text: intervalText(m) }),
        el("td", { cls: "num", text: num(m.regressed) + " / " + num(m.fixed) }),
        gateCell(m.key),
        el("td", null, m.regressed && filterKey ? link(filterHash(patch), "cases →") : "")));
    });
    return el("div", { cls: "card" }, el("h3", { text: title }),
      el("table", { cls: "metrics" }, el("thead", null, el("tr", null,
        el("th", { text: "slice" }), el("th", { text: "baseline" }), el("th", { text: "this run" }),
        el("th", { text: "change" }), el("th", { text: "interval" }), el("th", { text: "regressed / fixed" }),
        el("th", { text: "gate" }), el("th"))), body));
  }

  function metricsSection() {
    var quality = C.quality.filter(worthShowing);
    var cost = C.cost.slice();
    var pointRows = forestRows(quality.concat(movedMetrics(C.layers), movedMetrics(C.slices).slice(0, 15), [C.errors]), "points");
    var relRows = forestRows(C.latency.concat(C.cost.filter(function (m) { return m.key !== "cost.total"; })), "relative");
    var spent = el("p", { cls: "meta" }, "Spent in these runs (not served from a cache or an earlier run): baseline " +
      usd(C.spent_base_usd) + ", this run " + usd(C.spent_head_usd) + ".");
    return el("section", { id: "metrics" }, el("h2", { text: "Quality, latency and cost" }),
      metricTable("Quality", quality, true),
      metricTable("Latency", C.latency, false),
      metricTable("Cost and tokens", cost, false), spent,
      metricTable("Errors", [C.errors], false),
      forest("Change in quality, with its interval (percentage points)", pointRows, " pt"),
      forest("Change in latency and cost, with its interval (% of the baseline)", relRows, "%"),
      slicesTable("Layers that moved", movedMetrics(C.layers)),
      slicesTable("Slices that moved (tags, failure modes and behaviours)", movedMetrics(C.slices)));
  }

  // --- histograms and the trend ---------------------------------------------------------------

  function histogram(title, h, fmt, note) {
    if (!h.edges.length) return el("div", { cls: "card" }, el("h3", { text: title }), el("p", { cls: "dim", text: "No values to draw." }));
    var bins = h.base.length, W = 760, H = 200, X0 = 50, X1 = W - 10, Y0 = 20, Y1 = H - 30;
    var top = Math.max.apply(null, h.base.concat(h.head).concat([1]));
    var bw = (X1 - X0) / bins;
    var g = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "class": "chart" });
    add(g, svg("line", { x1: X0, x2: X1, y1: Y1, y2: Y1, "class": "axisline" }));
    add(g, svgText(X0 - 6, Y0 + 4, num(top), "axis", "end"));
    add(g, svgText(X0 - 6, Y1, "0", "axis", "end"));
    [["base", 0], ["head", 1]].forEach(function (side) {
      h[side[0]].forEach(function (n, i) {
        if (!n) return;
        var hgt = n / top * (Y1 - Y0);
        var bar = svg("rect", { x: X0 + i * bw + side[1] * bw / 2, y: Y1 - hgt, width: Math.max(bw / 2 - 1, 1), height: hgt, "class": "bar-" + side[0] });
        var tip = svg("title", {});
        tip.textContent = (side[0] === "base" ? "baseline" : "this run") + ": " + num(n) + " from " + fmt(h.edges[i]) + (i === bins - 1 ? " up" : " to " + fmt(h.edges[i + 1]));
        bar.appendChild(tip);
        add(g, bar);
      });
    });
    for (var i = 0; i < bins; i += Math.ceil(bins / 6)) add(g, svgText(X0 + i * bw, H - 12, fmt(h.edges[i]), "axis", "middle"));
    var legend = el("p", { cls: "legend" }, el("span", { cls: "key key-base" }), "baseline (" + num(h.n[0]) + ")  ",
      el("span", { cls: "key key-head" }), "this run (" + num(h.n[1]) + ")");
    note = (note ? note + " " : "") + "The last bar also counts everything above " + fmt(h.edges[bins - 1]) + ".";
    return el("div", { cls: "card" }, el("h3", { text: title }), g, legend, el("p", { cls: "dim", text: note }));
  }

  function lineChart(title, points, value, fmt) {
    var pts_ = points.filter(function (p) { return finite(value(p)); });
    if (pts_.length < 2) return null;
    var W = 760, H = 180, X0 = 70, X1 = W - 20, Y0 = 20, Y1 = H - 40;
    var vals = pts_.map(value), lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    if (hi === lo) { hi += 1; lo -= 1; }
    var pad = (hi - lo) * 0.1; lo -= pad; hi += pad;
    var x = function (i) { return X0 + i / (pts_.length - 1) * (X1 - X0); };
    var y = function (v) { return Y1 - (v - lo) / (hi - lo) * (Y1 - Y0); };
    var g = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "class": "chart" });
    add(g, svgText(X0 - 6, Y0 + 4, fmt(hi), "axis", "end"));
    add(g, svgText(X0 - 6, Y1, fmt(lo), "axis", "end"));
    add(g, svg("polyline", { points: pts_.map(function (p, i) { return x(i) + "," + y(value(p)); }).join(" "), "class": "trendline" }));
    pts_.forEach(function (p, i) {
      var dot = svg("circle", { cx: x(i), cy: y(value(p)), r: p.current ? 5 : 3.5, "class": p.current ? "dot-current" : "dot" });
      var tip = svg("title", {});
      tip.textContent = (p.current ? "this run" : String(p.commit).slice(0, 7)) + ": " + fmt(value(p));
      dot.appendChild(tip);
      add(g, dot);
      if (pts_.length <= 12 || i % Math.ceil(pts_.length / 12) === 0 || p.current) {
        add(g, svgText(x(i), H - 22, p.current ? "this run" : String(p.commit).slice(0, 7), "axis", "middle"));
      }
    });
    return el("div", { cls: "card" }, el("h3", { text: title }), g);
  }

  function distributions() {
    var charts = [
      histogram("Latency of each answered call", D.latency, ms, "Calls made in each run; cached and reused answers are left out."),
      histogram("Cost per case (list price)", D.cost, usd, null)
    ];
    var t = D.trend, trend;
    if (t.points.length >= 2) {
      trend = [lineChart("Pass rate over recent baselines", t.points, function (p) { return finite(p.pass_rate) ? p.pass_rate * 100 : null; }, function (v) { return v.toFixed(1) + "%"; }),
        lineChart("p95 latency over recent baselines", t.points, function (p) { return p.p95; }, ms),
        lineChart("Cost per case over recent baselines", t.points, function (p) { return p.usd; }, usd)];
    } else {
      trend = [el("p", { cls: "dim", id: "trend-note" }, shown(t.note || "Fewer than two baselines to draw a trend."))];
    }
    return [el("section", { id: "distributions" }, el("h2", { text: "Distributions" }), charts),
      el("section", { id: "trend" }, el("h2", { text: "Trend" }), trend)];
  }

  // --- the cases: filters, table, detail ------------------------------------------------------

  var haystacks = null;
  function haystack(i) {
    if (!haystacks) haystacks = new Array(CASES.length);
    if (haystacks[i] === undefined) {
      var c = CASES[i], parts = [c.id, c.group || "", c.tags.join(" "), c.layers.join(" "), c.vars || "", c.note || "",
        (c.fm || []).join(" "), (c.bh || []).join(" ")];
      c.asserts.forEach(function (a) { parts.push(a.name, a.hmsg, a.bmsg); });
      if (c.head) parts.push(c.head.out || "", c.head.err || "");
      if (c.base) parts.push(c.base.out || "", c.base.err || "");
      haystacks[i] = parts.join("\n").toLowerCase();
    }
    return haystacks[i];
  }

  function delta(c, key) {
    if (!c.base || !c.head || !finite(c.base[key]) || !finite(c.head[key])) return -Infinity;
    return c.head[key] - c.base[key];
  }

  var ORDER = {};
  STATUS_ORDER.forEach(function (s, i) { ORDER[s] = i; });
  var INDEX = CASES.map(function (c, i) { return i; });
  var SORTS = {
    severity: function (a, b) {
      var ca = CASES[a], cb = CASES[b];
      return (ORDER[ca.status] - ORDER[cb.status]) || (cb.sev - ca.sev) || (a - b);
    },
    latency: function (a, b) { return (delta(CASES[b], "ms") - delta(CASES[a], "ms")) || (a - b); },
    cost: function (a, b) { return (delta(CASES[b], "usd") - delta(CASES[a], "usd")) || (a - b); },
    id: function (a, b) { return CASES[a].id < CASES[b].id ? -1 : CASES[a].id > CASES[b].id ? 1 : a - b; }
  };
  var sorted = {};

  function matching(s) {
    var q = s.q.trim().toLowerCase();
    var order = sorted[s.sort] || (sorted[s.sort] = INDEX.slice().sort(SORTS[s.sort] || SORTS.severity));
    return order.filter(function (i) {
      var c = CASES[i];
      if (s.status === "changed" ? !MOVED[c.status] : s.status && c.status !== s.status) return false;
      if (s.tag && c.tags.indexOf(s.tag) < 0) return false;
      if (s.layer && c.layers.indexOf(s.layer) < 0) return false;
      if (s.fm && (c.fm || []).indexOf(s.fm) < 0) return false;
      if (s.bh && (c.bh || []).indexOf(s.bh) < 0) return false;
      return !q || haystack(i).indexOf(q) >= 0;
    });
  }

  function counted(field) {
    var n = Object.create(null);  // the names are untrusted: "__proto__" is a valid tag
    CASES.forEach(function (c) { (c[field] || []).forEach(function (v) { n[v] = (n[v] || 0) + 1; }); });
    return Object.keys(n).sort().map(function (k) { return [k, n[k]]; });
  }

  // The spec's names first (failure modes most severe first), then any other linked name.
  function specOptions(field) {
    var n = Object.create(null);
    counted(field).forEach(function (t) { n[t[0]] = t[1]; });
    var names = specNames(field).concat(Object.keys(n).sort()).filter(function (name, i, all) { return all.indexOf(name) === i; });
    return [["", "any"]].concat(names.map(function (name) {
      var sev = severityOf(field, name);
      return [name, short(name, 40) + (sev ? " · " + sev : "") + " (" + num(n[name] || 0) + ")"];
    }));
  }

  function select(id, label, options) {
    var s = el("select", { id: id, "aria-label": label });
    options.forEach(function (o) { add(s, el("option", { value: o[0] }, o[1])); });
    return el("label", null, label + " ", s);
  }

  function controls() {
    var statuses = [["", "all (" + num(CASES.length) + ")"],
      ["changed", "any change (" + num(CASES.filter(function (c) { return MOVED[c.status]; }).length) + ")"]];
    STATUS_ORDER.forEach(function (s) { var n = countOf(s); if (n) statuses.push([s, STATUS_TEXT[s] + " (" + num(n) + ")"]); });
    var tags = [["", "any"]].concat(counted("tags").map(function (t) { return [t[0], short(t[0], 40) + " (" + num(t[1]) + ")"]; }));
    var layers = [["", "any"]].concat(counted("layers").map(function (t) { return [t[0], t[0] + " (" + num(t[1]) + ")"]; }));
    var bar = el("div", { cls: "controls" },
      select("f-status", "Status", statuses), select("f-tag", "Tag", tags),
      select("f-layer", "Layer", layers),
      specSelect("f-fm", "Failure mode", specOptions("fm")), specSelect("f-bh", "Behaviour", specOptions("bh")),
      el("label", null, "Search ", el("input", { id: "f-q", type: "search", placeholder: "id, output, assertion, message…", size: "30" })),
      select("f-sort", "Sort", [["severity", "worst first"], ["latency", "latency rise"], ["cost", "cost rise"], ["id", "case id"]]),
      el("button", { id: "f-reset", type: "button", text: "Clear filters" }));
    SELECTS.forEach(function (key) {
      bar.querySelector("#f-" + key).addEventListener("change", function (e) { shownRows = PAGE; setState(patchOf(key, e.target.value)); });
    });
    var timer = null;
    bar.querySelector("#f-q").addEventListener("input", function (e) {
      clearTimeout(timer);
      timer = setTimeout(function () { shownRows = PAGE; setState({ q: e.target.value, "case": "" }); }, 150);
    });
    bar.querySelector("#f-reset").addEventListener("click", function () {
      shownRows = PAGE; setState(blank());
    });
    return bar;
  }

  function specSelect(id, label, options) {
    var s = select(id, label, options);
    s.hidden = options.length < 2;  // no spec and no links: the filter would only say "any"
    return s;
  }

  function patchOf(key, value) { var p = { "case": "" }; p[key] = value; return p; }

  function passCell(c) {
    var b = c.base ? pct(c.base.pass, 0) : MISSING, h = c.head ? pct(c.head.pass, 0) : MISSING;
    return b + " → " + h;
  }

  function failingNow(c) {
    return c.asserts.filter(function (a) { return a.head && a.head[0] < a.head[1]; }).map(function (a) { return a.name; });
  }

  function row(i) {
    var c = CASES[i];
    var out = c.head ? (c.head.err || c.head.out || "") : "(not in this run)";
    var tr = el("tr", { cls: "case st-" + c.status, "data-case": String(i), tabindex: "0" },
      el("td", null, el("span", { cls: "status st-" + c.status, text: STATUS_TEXT[c.status] })),
      el("td", { cls: "id" }, shown(short(c.id, 80))),
      el("td", null, shown(short(c.tags.join(", "), 60))),
      el("td", null, c.layers.join(", ")),
      el("td", { cls: "num", text: passCell(c) }),
      el("td", null, shown(short(failingNow(c).join(", "), 80))),
      el("td", { cls: "num", text: (c.base ? ms(c.base.ms) : MISSING) + " → " + (c.head ? ms(c.head.ms) : MISSING) }),
      el("td", { cls: "num", text: (c.base ? usd(c.base.usd) : MISSING) + " → " + (c.head ? usd(c.head.usd) : MISSING) }),
      el("td", { cls: "out" }, shown(short(out, 140))));
    return tr;
  }

  function tableSection() {
    var table = el("table", { cls: "cases", id: "cases" },
      el("thead", null, el("tr", null, ["status", "case", "tags", "layers", "pass", "failing now", "latency", "cost", "output in this run"].map(function (h) { return el("th", { text: h }); }))),
      el("tbody", { id: "case-rows" }));
    table.addEventListener("click", function (e) {
      var tr = e.target.closest ? e.target.closest("tr[data-case]") : null;
      if (tr) setState({ "case": CASES[Number(tr.getAttribute("data-case"))].id });
    });
    table.addEventListener("keydown", function (e) {
      var tr = e.target.closest ? e.target.closest("tr[data-case]") : null;
      if (tr && e.key === "Enter") setState({ "case": CASES[Number(tr.getAttribute("data-case"))].id });
    });
    var more = el("button", { id: "more", type: "button" });
    more.addEventListener("click", function () { shownRows += PAGE; renderRows(); });
    return el("section", { id: "case-section" }, el("h2", { text: "Cases" }), controls(),
      el("div", { id: "detail" }),
      el("p", { id: "count", cls: "meta" }), el("div", { cls: "scroll" }, table), more);
  }

  var current = [];

  function renderRows() {
    var body = clear(document.getElementById("case-rows"));
    var frag = document.createDocumentFragment();
    current.slice(0, shownRows).forEach(function (i) { frag.appendChild(row(i)); });
    body.appendChild(frag);
    var n = Math.min(shownRows, current.length);
    document.getElementById("count").textContent = "Showing " + num(n) + " of " + plural(current.length, "matching case") +
      (current.length !== CASES.length ? " (" + num(CASES.length) + " in all)" : "") + ". Click a case to see why.";
    var more = document.getElementById("more");
    more.hidden = current.length <= shownRows;
    more.textContent = "Show " + num(Math.min(PAGE, current.length - shownRows)) + " more";
  }

  // --- the diff: longest common subsequence of words (one-line texts) or lines, with a cap ---

  var DIFF_CELLS = 4000000;

  function tokens(text, byLine) {
    return byLine ? text.split(/(?<=\n)/) : text.split(/(\s+)/).filter(function (t) { return t !== ""; });
  }

  function diffOps(a, b) {
    var pre = 0, suf = 0;
    while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
    while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
    var A = a.slice(pre, a.length - suf), B = b.slice(pre, b.length - suf), ops = [];
    if (pre) ops.push(["=", a.slice(0, pre)]);
    var n = A.length, m = B.length;
    if ((n + 1) * (m + 1) > DIFF_CELLS) {
      if (n) ops.push(["-", A]);
      if (m) ops.push(["+", B]);
    } else {
      var L = new Uint32Array((n + 1) * (m + 1)), w = m + 1, i, j;
      for (i = n - 1; i >= 0; i--) {
        for (j = m - 1; j >= 0; j--) {
          L[i * w + j] = A[i] === B[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
        }
      }
      i = 0; j = 0;
      var push = function (op, t) {
        var last = ops[ops.length - 1];
        if (last && last[0] === op) last[1].push(t); else ops.push([op, [t]]);
      };
      while (i < n && j < m) {
        if (A[i] === B[j]) { push("=", A[i]); i++; j++; }
        else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) { push("-", A[i]); i++; }
        else { push("+", B[j]); j++; }
      }
      while (i < n) push("-", A[i++]);
      while (j < m) push("+", B[j++]);
    }
    if (suf) ops.push(["=", a.slice(a.length - suf)]);
    return tidy(ops);
  }

  // Whitespace that happens to match between two changes splits them into word salad: such
  // runs join the change around them, which then reads as one removal and one insertion.
  function tidy(ops) {
    var out = [], del = [], ins = [];
    var flush = function () {
      if (del.length) out.push(["-", del]);
      if (ins.length) out.push(["+", ins]);
      del = []; ins = [];
    };
    ops.forEach(function (op, k) {
      var next = ops[k + 1];
      if (op[0] === "-") del = del.concat(op[1]);
      else if (op[0] === "+") ins = ins.concat(op[1]);
      else if ((del.length || ins.length) && next && /^\s*$/.test(op[1].join(""))) {
        del = del.concat(op[1]); ins = ins.concat(op[1]);
      } else { flush(); out.push(op); }
    });
    flush();
    return out;
  }

  function diffView(base, head) {
    var a = base || "", b = head || "";
    if (a === b) return el("p", { cls: "dim", text: "The outputs are identical." });
    var byLine = a.indexOf("\n") >= 0 || b.indexOf("\n") >= 0;
    var pre = el("pre", { cls: "diff", id: "diff" });
    diffOps(tokens(a, byLine), tokens(b, byLine)).forEach(function (op) {
      var text = op[1].join("");
      var cls = op[0] === "=" ? "same" : op[0] === "-" ? "del" : "ins";
      add(pre, el(op[0] === "=" ? "span" : op[0] === "-" ? "del" : "ins", { cls: cls }, shown(text)));
    });
    return pre;
  }

  // --- the detail of one case: why it regressed, both outputs side by side, the diff ---------

  function side(title, s, cls) {
    if (!s) return el("div", { cls: "side " + cls }, el("h4", { text: title }), el("p", { cls: "dim", text: "Not in this run." }));
    var facts = "pass " + pct(s.pass, 0) + " of " + plural(s.n, "sample") + " · " + ms(s.ms) + " · " + usd(s.usd) + (s.cached ? " · from cache" : "");
    return el("div", { cls: "side " + cls },
      el("h4", { text: title }), el("p", { cls: "meta", text: facts }),
      s.err ? el("p", { cls: "error" }, "Error: ", shown(s.err)) : null,
      s.out === null ? el("p", { cls: "dim", text: "No output." }) : el("pre", { cls: "output" }, shown(s.out)),
      s.cut ? el("p", { cls: "dim", text: "… " + num(s.cut) + " more characters not embedded in this page." }) : null);
  }

  function passText(p) { return p ? (p[0] === p[1] ? "pass" : p[0] === 0 ? "fail" : p[0] + "/" + p[1] + " pass") : MISSING; }

  function specWords(field, name) {
    var sev = severityOf(field, name);
    return [el("a", { href: "#" + filterHash(patchOf(field, name)) }, shown(name)), sev ? " (" + sev + ")" : ""];
  }

  function nameList(field, names) {
    return names.map(function (name, i) { return [i ? ", " : "", specWords(field, name)]; });
  }

  // The failure modes and behaviours the case links to, by itself or through an assertion.
  function caseLinks(c) {
    var fm = c.fm || [], bh = c.bh || [];
    if (!fm.length && !bh.length) return null;
    return el("p", { cls: "meta spec-links", id: "case-links" },
      fm.length ? ["Failure modes: ", nameList("fm", fm)] : null, fm.length && bh.length ? " · " : null,
      bh.length ? ["Behaviours: ", nameList("bh", bh)] : null);
  }

  function assertLinks(a) {
    var words = [];
    (a.fm || []).forEach(function (n) { words.push(["failure mode ", specWords("fm", n)]); });
    (a.bh || []).forEach(function (n) { words.push(["behaviour ", specWords("bh", n)]); });
    return words.map(function (w, i) { return [i ? "; " : "", w]; });
  }

  function whyList(c) {
    var failing = c.asserts.filter(function (a) { return a.head && a.head[0] < a.head[1]; });
    if (!failing.length) {
      if (c.head && c.head.err) return el("p", null, "This run errored: ", shown(c.head.err));
      if (c.note) return el("p", null, shown(c.note));
      return el("p", { cls: "dim", text: "No assertion fails in this run." });
    }
    var ul = el("ul", { cls: "why", id: "why" });
    failing.forEach(function (a) {
      var was = a.base ? (a.base[0] === a.base[1] ? "passed on the baseline" : "also failed on the baseline") : "not on the baseline";
      add(ul, el("li", { cls: a.base && a.base[0] === a.base[1] ? "newly" : "" },
        el("strong", null, shown(a.name)), " (" + a.type + ", layer " + a.layer + (a.blocking ? "" : ", advisory") + ", " + was + "): ",
        a.hmsg ? shown(a.hmsg) : el("span", { cls: "dim", text: "no message" }),
        a.fm || a.bh ? el("span", { cls: "dim" }, " — ", assertLinks(a)) : null));
    });
    return ul;
  }

  function assertTable(c) {
    if (!c.asserts.length) return null;
    var linked = c.asserts.some(function (a) { return a.fm || a.bh; });
    var heads = ["assertion", "type", "layer", "baseline", "this run", "message in this run"].concat(linked ? ["in the spec"] : []);
    return el("table", { cls: "asserts" },
      el("thead", null, el("tr", null, heads.map(function (h) { return el("th", { text: h }); }))),
      el("tbody", null, c.asserts.map(function (a) {
        return el("tr", null, el("td", null, shown(a.name)), el("td", null, shown(a.type)), el("td", null, shown(a.layer)),
          el("td", { text: passText(a.base) }), el("td", { text: passText(a.head) }), el("td", null, shown(a.hmsg || "")),
          linked ? el("td", null, assertLinks(a)) : null);
      })));
  }

  function renderDetail(id) {
    var box = clear(document.getElementById("detail"));
    if (!id) { box.hidden = true; return; }
    var c = null;
    for (var i = 0; i < CASES.length; i++) if (CASES[i].id === id) { c = CASES[i]; break; }
    box.hidden = false;
    if (!c) { add(box, el("p", { cls: "dim" }, "No case ", shown(short(id, 80)), " in this report.")); return; }
    var close = el("button", { type: "button", id: "close-detail", text: "Close" });
    close.addEventListener("click", function () { setState({ "case": "" }); });
    var facts = [c.tags.length ? "tags: " + c.tags.join(", ") : "", c.group ? "group: " + c.group : "",
      c.layers.length ? "layers: " + c.layers.join(", ") : ""].filter(Boolean).join(" · ");
    add(box, el("div", { cls: "detail-head" }, el("h3", null, el("span", { cls: "status st-" + c.status, text: STATUS_TEXT[c.status] }), " ", shown(c.id)), close),
      facts ? el("p", { cls: "meta" }, shown(facts)) : null,
      caseLinks(c),
      el("h4", { text: c.status === "regressed" ? "Why it regressed" : "What fails in this run" }), whyList(c),
      c.note ? el("p", { cls: "meta" }, shown(c.note)) : null,
      el("div", { cls: "sides" }, side("Baseline output", c.base, "base"), side("Output in this run", c.head, "head")),
      el("h4", { text: "Diff, baseline → this run" }),
      diffView(c.base && c.base.out, c.head && c.head.out),
      el("details", null, el("summary", { text: "All assertions" }), assertTable(c)),
      el("h4", { text: "Input" }), el("pre", { cls: "output" }, shown(c.vars || "")),
      c.expected !== null ? [el("h4", { text: "Expected" }), el("pre", { cls: "output" }, shown(c.expected))] : null);
  }

  // --- putting it together --------------------------------------------------------------------

  // Set when a filter control changed the view: the page then stays where the reader is.
  var fromControls = false;

  function apply(next) {
    var opened = next["case"] && next["case"] !== state["case"];
    var moved = !fromControls;
    fromControls = false;
    state = next;
    SELECTS.forEach(function (key) {
      var s = document.getElementById("f-" + key);
      if (s.value !== state[key]) s.value = state[key];
      if (s.value !== state[key]) {  // a value from a link that this report does not have
        add(s, el("option", { value: state[key] }, short(state[key], 40) + " (0)"));
        s.value = state[key];
      }
      if (state[key]) s.parentNode.hidden = false;
    });
    var q = document.getElementById("f-q");
    if (q.value !== state.q && document.activeElement !== q) q.value = state.q;
    current = matching(state);
    renderRows();
    renderDetail(state["case"]);
    if (opened) document.getElementById("detail").scrollIntoView();
    else if (moved && location.hash.length > 1) document.getElementById("case-section").scrollIntoView();
  }

  function footer() {
    var s = C.settings || {};
    var bits = [];
    if (finite(s.seed)) bits.push("seed " + s.seed);
    if (finite(s.resamples)) bits.push(num(s.resamples) + " bootstrap resamples");
    var comp = C.comparability;
    return el("footer", null, el("p", { cls: "meta" },
      "ci-gate " + C.head.ci_gate_version + (bits.length ? " · " + bits.join(", ") : "") + " · " +
      plural(comp.compared, "case") + " compared, " + num(comp.added.length) + " new, " + num(comp.removed.length) +
      " removed, " + num(comp.changed.length) + " with a changed definition."));
  }

  var app = clear(document.getElementById("app"));
  document.title = (VERDICT_TEXT[R.verdict] || R.verdict) + " — " + D.title;
  add(app, [header(), specSection(), metricsSection(), tableSection(), distributions(), footer()]);
  window.addEventListener("hashchange", function () { apply(readHash()); });
  var first = readHash();
  state = { status: null };  // differs from any state, so the first apply renders everything
  apply(first);
  document.body.setAttribute("data-ready", "1");
})();
