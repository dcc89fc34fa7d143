/* Leaderboard site: sortable tables, row filters, score-family column toggles and the score scatter.
   Plain JavaScript without dependencies or network access, so the pages work from file:// as well. */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  /* One colour per generator with an ok seed, in page order, as the published figures use: matplotlib's tab10,
     then tab20's lighter shades, then grey. */
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
                 "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"];
  var GREY = "#808080";

  /* ---------- sortable tables ---------- */

  /* The value a cell sorts by: its data-sort attribute or its text; null for a blank cell. */
  function sortKey(cell, numeric) {
    if (!cell) { return null; }
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (raw === "" || raw === "—") { return null; }
    if (!numeric) { return raw.toLowerCase(); }
    var value = Number(raw);
    return isFinite(value) ? value : null;
  }

  /* Sort the body rows of `table` by the column of `th`: ascending first, reversed on the next click.
     Blank cells stay last either way; equal cells keep the page's order; pinned rows stay on top. */
  function sortTable(table, th) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var numeric = th.getAttribute("data-type") === "number";
    var column = th.cellIndex;
    table.querySelectorAll("thead th").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.filter.call(body.rows, function (row) { return !row.classList.contains("pinned"); });
    var keyed = rows.map(function (row) {
      return { row: row, order: Number(row.getAttribute("data-order")), key: sortKey(row.cells[column], numeric) };
    });
    keyed.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        return a.key === b.key ? a.order - b.order : (a.key === null ? 1 : -1);
      }
      var c = numeric ? a.key - b.key : a.key.localeCompare(b.key);
      if (c === 0) { return a.order - b.order; }
      return ascending ? c : -c;
    });
    keyed.forEach(function (item) { body.appendChild(item.row); });
  }

  function initSortable(table) {
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row, i) { row.setAttribute("data-order", String(i)); });
    table.querySelectorAll("thead th").forEach(function (th) {
      var button = th.querySelector("button.sort");
      if (button) { button.addEventListener("click", function () { sortTable(table, th); }); }
    });
  }

  /* ---------- filters and column toggles ---------- */

  /* Hide every [data-filterable] element whose data-<attr> differs from a row filter's chosen value. */
  function applyFilters() {
    var active = Array.prototype.filter.call(document.querySelectorAll("select.row-filter"),
                                             function (select) { return select.value !== ""; });
    document.querySelectorAll("[data-filterable]").forEach(function (element) {
      var shown = active.every(function (select) {
        var attr = "data-" + select.getAttribute("data-attr");
        return !element.hasAttribute(attr) || element.getAttribute(attr) === select.value;
      });
      element.toggleAttribute("hidden", !shown);
    });
  }

  /* Show or hide every column and section of a score family with its checkbox. */
  function applyColumnToggles() {
    document.querySelectorAll("input.column-toggle").forEach(function (box) {
      var selector = '[data-score-family="' + CSS.escape(box.value) + '"]';
      document.querySelectorAll(selector).forEach(function (element) {
        element.toggleAttribute("hidden", !box.checked);
      });
    });
  }

  /* ---------- scatter ---------- */

  function svg(tag, attrs, parent) {
    var element = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (key) { element.setAttribute(key, String(attrs[key])); });
    if (parent) { parent.appendChild(element); }
    return element;
  }

  function html(tag, className, text, parent) {
    var element = document.createElement(tag);
    if (className) { element.className = className; }
    if (text !== undefined) { element.textContent = text; }
    if (parent) { parent.appendChild(element); }
    return element;
  }

  /* A short label for an axis tick. */
  function tickLabel(value) {
    var magnitude = Math.abs(value);
    if (value !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) { return value.toExponential(1); }
    return String(Number(value.toPrecision(6)));
  }

  /* A value as shown in the tooltip: four significant digits. */
  function valueLabel(value) {
    return value === null || value === undefined ? "—" : String(Number(value.toPrecision(4)));
  }

  /* Evenly spaced round tick values covering [low, high]. */
  function ticks(low, high, count) {
    var raw = (high - low) / count;
    var step = Math.pow(10, Math.floor(Math.log10(raw)));
    var ratio = raw / step;
    step *= ratio >= 7.5 ? 10 : ratio >= 3.5 ? 5 : ratio >= 1.5 ? 2 : 1;
    var values = [];
    for (var i = Math.ceil(low / step); i * step <= high + step * 1e-9; i++) { values.push(i * step); }
    return values;
  }

  /* The padded [low, high] of finite values (never empty). */
  function domain(values) {
    var low = Math.min.apply(null, values);
    var high = Math.max.apply(null, values);
    var pad = high > low ? (high - low) * 0.06 : Math.abs(low) * 0.1 || 1;
    return [low - pad, high + pad];
  }

  function isNumber(value) { return typeof value === "number" && isFinite(value); }

  /* The scores as options, grouped by family in page order; `chosen` selected. */
  function fillSelect(select, data, chosen) {
    data.families.forEach(function (family) {
      var group = html("optgroup");
      group.label = family;
      Object.keys(data.scores).sort().forEach(function (name) {
        if (data.scores[name].family !== family) { return; }
        var option = html("option", "", name + " " + data.scores[name].direction, group);
        option.value = name;
      });
      if (group.children.length) { select.appendChild(group); }
    });
    select.value = chosen;
  }

  function showTooltip(tooltip, container, event, lines) {
    tooltip.textContent = "";
    lines.forEach(function (line, i) { html("div", i === 0 ? "tooltip-title" : "", line, tooltip); });
    tooltip.hidden = false;
    var box = container.getBoundingClientRect();
    var x = event.clientX - box.left + 14;
    var y = event.clientY - box.top + 14;
    if (x + tooltip.offsetWidth > container.clientWidth) { x = Math.max(0, x - tooltip.offsetWidth - 28); }
    tooltip.style.left = x + "px";
    tooltip.style.top = y + "px";
  }

  /* Draw the points of scores `xName` and `yName` (only generator x seed pairs that have both). */
  function drawScatter(container, data, xName, yName) {
    var width = 760, height = 470, left = 76, right = 20, top = 16, bottom = 56;
    var colours = {};
    data.points.forEach(function (point) {
      if (!(point.generator in colours)) { colours[point.generator] = PALETTE[Object.keys(colours).length] || GREY; }
    });
    var points = data.points.filter(function (p) { return isNumber(p.values[xName]) && isNumber(p.values[yName]); });
    var refX = data.scores[xName] ? data.scores[xName].reference : null;
    var refY = data.scores[yName] ? data.scores[yName].reference : null;
    var hasReference = isNumber(refX) && isNumber(refY);
    var xs = points.map(function (p) { return p.values[xName]; });
    var ys = points.map(function (p) { return p.values[yName]; });
    if (hasReference) { xs.push(refX); ys.push(refY); }

    container.textContent = "";
    var figure = svg("svg", { viewBox: "0 0 " + width + " " + height, class: "scatter-plot", role: "img",
                              "aria-label": yName + " against " + xName }, container);
    var tooltip = html("div", "tooltip", undefined, container);
    tooltip.hidden = true;
    tooltip.setAttribute("role", "tooltip");
    if (!xs.length) {
      svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, figure).textContent =
        "no generator has both scores";
      return;
    }
    var xDomain = domain(xs), yDomain = domain(ys);
    var sx = function (v) { return left + (v - xDomain[0]) / (xDomain[1] - xDomain[0]) * (width - left - right); };
    var sy = function (v) { return height - bottom - (v - yDomain[0]) / (yDomain[1] - yDomain[0]) * (height - top - bottom); };

    var axes = svg("g", { class: "axes" }, figure);
    ticks(xDomain[0], xDomain[1], 6).forEach(function (v) {
      svg("line", { x1: sx(v), x2: sx(v), y1: top, y2: height - bottom, class: "grid" }, axes);
      svg("text", { x: sx(v), y: height - bottom + 18, "text-anchor": "middle" }, axes).textContent = tickLabel(v);
    });
    ticks(yDomain[0], yDomain[1], 6).forEach(function (v) {
      svg("line", { x1: left, x2: width - right, y1: sy(v), y2: sy(v), class: "grid" }, axes);
      svg("text", { x: left - 8, y: sy(v) + 4, "text-anchor": "end" }, axes).textContent = tickLabel(v);
    });
    svg("rect", { x: left, y: top, width: width - left - right, height: height - top - bottom, class: "frame" }, axes);
    svg("text", { x: (left + width - right) / 2, y: height - 12, "text-anchor": "middle", class: "axis-label" }, axes)
      .textContent = xName + " (" + data.scores[xName].better + ")";
    svg("text", { x: 16, y: (top + height - bottom) / 2, "text-anchor": "middle", class: "axis-label",
                  transform: "rotate(-90 16 " + (top + height - bottom) / 2 + ")" }, axes)
      .textContent = yName + " (" + data.scores[yName].better + ")";

    var layer = svg("g", { class: "points" }, figure);
    points.forEach(function (p) {
      var circle = svg("circle", { cx: sx(p.values[xName]), cy: sy(p.values[yName]), r: 6, fill: colours[p.generator],
                                   class: "point", tabindex: 0, "data-filterable": "", "data-family": p.family,
                                   "data-generator": p.generator, "data-seed": p.seed }, layer);
      circle.tooltipLines = [p.generator, "seed " + p.seed, xName + ": " + valueLabel(p.values[xName]),
                             yName + ": " + valueLabel(p.values[yName])];
    });
    if (hasReference) {
      var cx = sx(refX), cy = sy(refY);
      var diamond = svg("path", { d: "M" + cx + " " + (cy - 9) + "l9 9l-9 9l-9 -9z", class: "point reference-point",
                                  tabindex: 0 }, layer);
      diamond.tooltipLines = ["real holdout (reference)", xName + ": " + valueLabel(refX), yName + ": " + valueLabel(refY)];
    }

    var over = function (event) {
      if (event.target.tooltipLines) { showTooltip(tooltip, container, event, event.target.tooltipLines); }
    };
    figure.addEventListener("mouseover", over);
    figure.addEventListener("mousemove", over);
    figure.addEventListener("mouseout", function () { tooltip.hidden = true; });
    figure.addEventListener("focusin", function (event) {
      var box = event.target.getBoundingClientRect();
      over({ target: event.target, clientX: box.left + box.width / 2, clientY: box.top + box.height / 2 });
    });
    figure.addEventListener("focusout", function () { tooltip.hidden = true; });

    var legend = html("ul", "legend", undefined, container);
    Object.keys(colours).forEach(function (name) {
      var family = data.points.filter(function (p) { return p.generator === name; })[0].family;
      var item = html("li", "", undefined, legend);
      item.setAttribute("data-filterable", "");
      item.setAttribute("data-family", family);
      html("span", "swatch", undefined, item).style.background = colours[name];
      item.appendChild(document.createTextNode(name));
    });
    if (hasReference) {
      var reference = html("li", "", undefined, legend);
      html("span", "swatch reference-swatch", undefined, reference);
      reference.appendChild(document.createTextNode("real holdout (reference)"));
    }
    applyFilters();
  }

  function initScatter(container) {
    var source = document.getElementById(container.getAttribute("data-source"));
    var data = JSON.parse(source.textContent);
    var xSelect = document.getElementById("scatter-x");
    var ySelect = document.getElementById("scatter-y");
    fillSelect(xSelect, data, data.default[0]);
    fillSelect(ySelect, data, data.default[1]);
    var redraw = function () { drawScatter(container, data, xSelect.value, ySelect.value); };
    xSelect.addEventListener("change", redraw);
    ySelect.addEventListener("change", redraw);
    if (data.default.length === 2) { redraw(); }
  }

  function init() {
    document.querySelectorAll("table.sortable").forEach(initSortable);
    document.querySelectorAll("select.row-filter").forEach(function (select) {
      select.addEventListener("change", applyFilters);
    });
    document.querySelectorAll("input.column-toggle").forEach(function (box) {
      box.addEventListener("change", applyColumnToggles);
    });
    document.querySelectorAll("div.scatter[data-source]").forEach(initScatter);
    applyFilters();
    applyColumnToggles();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
