// cateye report: lays out the document embedded as JSON in #cateye-data (sections of text,
// facts, tables and charts; see crates/cateye-report/src/doc.rs) and draws each chart with
// vega-embed when it scrolls into view. Every string from the data is set as text, never as
// markup. window.cateyeReport.drawAll() draws every chart (the print button uses it) and
// resolves when they are drawn.
(function () {
  "use strict";

  const doc = JSON.parse(document.getElementById("cateye-data").textContent);
  const root = document.getElementById("report");
  const charts = new Map(); // chart host element -> chart
  const state = { drawn: 0, failed: 0 };

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  /** A number shown in its format; the exact value stays in data-value. */
  function format(value, how) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value !== "number") return String(value);
    if (!Number.isFinite(value)) return "—";
    switch (how) {
      case "count":
        return Math.round(value).toLocaleString("en-US");
      case "percent":
        return (100 * value).toFixed(1) + "%";
      case "p_value":
        if (value === 0) return "0";
        return value < 1e-3 ? value.toExponential(1) : String(Number(value.toPrecision(2)));
      case "number": {
        const a = Math.abs(value);
        if (value === 0) return "0";
        if (a >= 1e7 || a < 1e-3) return value.toExponential(3);
        return String(Number(value.toPrecision(4)));
      }
      default:
        return String(value);
    }
  }

  /** A table cell: numbers keep their exact value in data-value; data-field names the column. */
  function cell(tag, value, how, field) {
    const node = el(tag, field ? { "data-field": field } : {}, format(value, how));
    if (typeof value === "number") node.dataset.value = String(value);
    return node;
  }

  function text(block) {
    return el("p", { class: "tone-" + block.tone }, block.text);
  }

  function facts(block) {
    const dl = el("dl", { class: "facts" });
    for (const f of block.facts) {
      dl.append(el("dt", {}, f.label), cell("dd", f.value, f.format));
    }
    return dl;
  }

  /** A chart's data: one datum per row of its numbers table, keyed by the columns' fields. */
  function values(table) {
    return table.rows.map((row) => {
      const datum = {};
      table.columns.forEach((c, i) => (datum[c.field] = row[i]));
      return datum;
    });
  }

  const observer =
    "IntersectionObserver" in window
      ? new IntersectionObserver(
          (entries) => {
            for (const e of entries) if (e.isIntersecting) draw(e.target);
          },
          { rootMargin: "300px" }
        )
      : null;

  /** Draws the chart of `host` once; resolves when drawn (or failed, with the reason shown). */
  function draw(host) {
    if (host.drawing) return host.drawing;
    const chart = charts.get(host);
    if (observer) observer.unobserve(host);
    const spec = JSON.parse(JSON.stringify(doc.specs[chart.spec]));
    spec.data = { values: values(chart.table) };
    host.dataset.state = "drawing";
    host.drawing = vegaEmbed(host, spec, {
      renderer: "svg",
      actions: { export: true, source: true, compiled: false, editor: false },
    })
      .then(() => {
        host.dataset.state = "drawn";
        state.drawn += 1;
      })
      .catch((error) => {
        host.dataset.state = "failed";
        host.textContent = "This chart could not be drawn: " + error.message;
        state.failed += 1;
        console.error(error);
      });
    return host.drawing;
  }

  function chartFigure(chart) {
    const host = el("div", { class: "chart-host", role: "img", "aria-label": chart.title });
    charts.set(host, chart);
    if (observer) observer.observe(host);
    else draw(host);
    const numbers = el("details", { class: "chart-numbers" }, el("summary", {}, "Numbers"), tableElement(chart.table));
    return el("figure", { class: "chart" }, el("figcaption", {}, chart.title), host, numbers);
  }

  /** A plain table of all rows. */
  function tableElement(table) {
    const t = el("table", { class: "numbers" });
    t.append(el("caption", {}, table.caption));
    t.append(el("thead", {}, el("tr", {}, ...table.columns.map((c) => el("th", { scope: "col" }, c.label)))));
    const body = el("tbody");
    for (const row of table.rows) body.append(rowElement(table, row));
    t.append(body);
    return t;
  }

  function rowElement(table, row) {
    return el("tr", {}, ...table.columns.map((c, i) => cell("td", row[i], c.format, c.field)));
  }

  /** A table with filters, pages and rows that open to their chart. */
  function interactiveTable(table) {
    const wrap = el("div", { class: "table-block" });
    if (table.id) wrap.id = table.id;
    const index = (field) => table.columns.findIndex((c) => c.field === field);
    const controls = el("div", { class: "table-controls" });
    const tests = [];
    for (const field of table.filters || []) {
      const i = index(field);
      const column = table.columns[i];
      if (column.format === "text") {
        const choices = [...new Set(table.rows.map((r) => r[i]).filter((v) => v !== null))].map(String).sort();
        const select = el("select", { "data-filter": field }, el("option", { value: "" }, "all"));
        for (const v of choices) select.append(el("option", { value: v }, v));
        select.addEventListener("change", refresh);
        controls.append(el("label", {}, column.label + " ", select));
        tests.push((row) => select.value === "" || String(row[i]) === select.value);
      } else {
        const input = el("input", { type: "number", step: "any", min: "0", placeholder: "any", "data-filter": field });
        input.addEventListener("input", refresh);
        controls.append(el("label", {}, column.label + " ≤ ", input));
        tests.push((row) => input.value === "" || (typeof row[i] === "number" && row[i] <= Number(input.value)));
      }
    }
    if (tests.length) wrap.append(controls);
    const t = el("table", { class: "numbers" });
    t.append(el("caption", {}, table.caption));
    const head = table.columns.map((c) => el("th", { scope: "col" }, c.label));
    if (table.details) head.unshift(el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Chart")));
    t.append(el("thead", {}, el("tr", {}, ...head)));
    const body = el("tbody");
    t.append(body);
    wrap.append(t);
    const footer = el("div", { class: "table-footer" });
    const status = el("span");
    const more = el("button", { type: "button" }, "Show more");
    const all = el("button", { type: "button" }, "Show all");
    footer.append(status, more, all);
    wrap.append(footer);
    const page = table.page || table.rows.length;
    let shown = page;
    more.addEventListener("click", () => {
      shown += page;
      refresh(true);
    });
    all.addEventListener("click", () => {
      shown = table.rows.length;
      refresh(true);
    });

    function openDetail(tr, toggle, r) {
      const open = toggle.getAttribute("aria-expanded") === "true";
      if (open) {
        tr.nextSibling.remove();
        toggle.setAttribute("aria-expanded", "false");
        toggle.textContent = "▸";
        return;
      }
      const colspan = table.columns.length + 1;
      const detail = el("tr", { class: "detail-row" }, el("td", { colspan }, chartFigure(table.details[r])));
      tr.after(detail);
      toggle.setAttribute("aria-expanded", "true");
      toggle.textContent = "▾";
    }

    function refresh(keepPage) {
      if (keepPage !== true) shown = page;
      body.textContent = "";
      const matching = [];
      table.rows.forEach((row, r) => {
        if (tests.every((test) => test(row))) matching.push(r);
      });
      let opened = 0;
      for (const r of matching.slice(0, shown)) {
        const tr = rowElement(table, table.rows[r]);
        tr.dataset.row = String(r);
        body.append(tr);
        if (table.details) {
          const chart = table.details[r];
          const toggle = chart
            ? el("button", { type: "button", class: "toggle", "aria-expanded": "false", "aria-label": chart.title }, "▸")
            : null;
          tr.prepend(el("td", {}, toggle));
          if (toggle) {
            toggle.addEventListener("click", () => openDetail(tr, toggle, r));
            if (opened < (table.expanded || 0)) {
              openDetail(tr, toggle, r);
              opened += 1;
            }
          }
        }
      }
      const visible = Math.min(shown, matching.length);
      status.textContent = `${visible} of ${matching.length} rows` + (matching.length < table.rows.length ? ` (${table.rows.length} before filtering)` : "");
      more.hidden = all.hidden = visible >= matching.length;
    }
    refresh();
    return wrap;
  }

  function block(b) {
    switch (b.type) {
      case "heading":
        return el("h3", { class: "block-heading" }, b.text);
      case "text":
        return text(b);
      case "facts":
        return facts(b);
      case "table":
        return b.filters || b.page || b.details ? interactiveTable(b) : el("div", { class: "table-block" }, tableElement(b));
      case "chart":
        return chartFigure(b);
      case "group": {
        const group = el("details", { class: "group", open: b.open }, el("summary", {}, b.title));
        for (const inner of b.blocks) group.append(block(inner));
        return group;
      }
      default:
        return el("p", { class: "tone-alert" }, "Unknown block " + b.type);
    }
  }

  /** Draws every chart, opening the collapsed groups so that they print. */
  function drawAll() {
    for (const g of document.querySelectorAll("details.group")) g.open = true;
    return Promise.all([...charts.keys()].map(draw)).then(() => state);
  }

  const printButton = el("button", { type: "button", class: "print" }, "Print / save as PDF");
  printButton.addEventListener("click", () => drawAll().then(() => window.print()));
  root.append(
    el("header", { class: "report-head" }, el("h1", {}, doc.title), el("p", {}, doc.subtitle), el("p", {}, "Made by " + doc.generator + ". ", printButton))
  );
  root.append(el("nav", { class: "report-nav", "aria-label": "Sections" }, ...doc.sections.map((s) => el("a", { href: "#" + s.id }, s.title))));
  for (const s of doc.sections) {
    const section = el("section", { class: "report-section", id: s.id, "aria-labelledby": s.id + "-title" });
    section.append(el("h2", { id: s.id + "-title" }, s.title));
    for (const b of s.blocks) section.append(block(b));
    root.append(section);
  }
  const licenses = el("details", {}, el("summary", {}, "Charting libraries inlined in this file, and their licenses"));
  for (const lib of doc.libraries) licenses.append(el("h4", {}, `${lib.name} ${lib.version}`), el("pre", {}, lib.license));
  root.append(el("footer", { class: "report-foot" }, licenses));

  window.cateyeReport = { drawAll, state, document: doc };
})();
