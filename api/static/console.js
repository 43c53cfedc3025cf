/* tradelane console: live status, the plan map (Leaflet, no tiles), sortable tables.
   Every value from a plan is set with textContent (never as HTML). */
(function () {
  "use strict";
  var MODE = {sea: "#1f77b4", rail: "#8c564b", air: "#d62728", truck: "#7f7f7f",
    express: "#9467bd", customs: "#17becf", last_mile: "#2ca02c", transfer: "#bcbd22"};
  var TERMINAL = {succeeded: 1, failed: 1, cancelled: 1};

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { for (var k in attrs) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function num(v, d) {
    if (v === null || v === undefined || v === "") { return "–"; }
    if (typeof v !== "number") { return String(v); }
    return v.toLocaleString("en-US", {minimumFractionDigits: d || 0, maximumFractionDigits: d || 0});
  }
  function SignedOut() { this.message = "signed out"; }
  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) {
        /* an ended session: 401 (or a redirect to the sign-in page from an older server) */
        if (r.status === 401 || (r.redirected && new URL(r.url).pathname === "/login")) {
          throw new SignedOut();
        }
        if (!r.ok) { throw new Error(url + ": " + r.status); }
        return r.json();
      });
  }
  function showSignedOut() {
    var m = document.getElementById("signed-out");
    if (m) { m.hidden = false; }
    document.body.setAttribute("data-signed-out", "1");
  }

  /* -- the plans list: live status and progress ------------------------------------------ */
  function livePlans(table) {
    function active() { return table.querySelectorAll("tr[data-status=queued],tr[data-status=running]").length; }
    function tick() {
      if (!active()) { return; }
      getJSON("/plans.json").then(function (rows) {
        rows.forEach(function (p) {
          var tr = table.querySelector('tr[data-id="' + p.id + '"]');
          if (!tr) { return; }
          tr.setAttribute("data-status", p.status);
          var badge = tr.querySelector(".status .badge");
          badge.className = "badge " + p.status;
          badge.textContent = p.status;
          var prog = tr.querySelector(".progress");
          prog.textContent = p.status === "running" ? progressText(p) : (p.error || "");
          if (TERMINAL[p.status]) {
            var f = tr.querySelector("form");
            if (f) { f.remove(); }
          }
        });
        setTimeout(tick, 1500);
      }).catch(function (e) {
        if (e instanceof SignedOut) { showSignedOut(); return; }
        setTimeout(tick, 3000);
      });
    }
    setTimeout(tick, 1000);
  }
  function progressText(p) {
    var parts = [];
    if (p.progress) { parts.push(p.progress.phase); }
    if (p.running_s !== null && p.running_s !== undefined) { parts.push(Math.floor(p.running_s) + " s"); }
    if (p.progress && p.progress.best_objective !== null) { parts.push("best " + num(p.progress.best_objective)); }
    if (p.progress && p.progress.bound !== null) { parts.push("bound " + num(p.progress.bound)); }
    return parts.join(" · ");
  }

  /* -- one plan while it runs ------------------------------------------------------------ */
  function livePlan(box) {
    var id = box.getAttribute("data-id");
    var elapsed = document.getElementById("elapsed");
    /* the elapsed time ticks every second from the job's start (the server's count at the
       last poll plus the time since), not only when a new phase is reported */
    var base = box.hasAttribute("data-running-s") ? parseFloat(box.getAttribute("data-running-s")) : null;
    var since = Date.now();
    var clock = setInterval(function () {
      if (base === null) { return; }
      if (TERMINAL[box.getAttribute("data-status")]) { clearInterval(clock); return; }
      elapsed.textContent = Math.floor(base + (Date.now() - since) / 1000) + " s";
    }, 1000);
    function tick() {
      getJSON("/plans/" + id + "/status.json").then(function (p) {
        var badge = document.getElementById("plan-status");
        badge.className = "badge " + p.status;
        badge.textContent = p.status;
        box.setAttribute("data-status", p.status);
        if (p.running_s !== null && p.running_s !== undefined) {
          base = p.running_s; since = Date.now();
          elapsed.textContent = Math.floor(base) + " s";
        }
        if (p.progress) {
          document.getElementById("phase").textContent = p.progress.phase;
          document.getElementById("best").textContent = num(p.progress.best_objective);
          document.getElementById("bound").textContent = num(p.progress.bound);
        }
        /* finished: the page as the server draws it (the plan, or why the job failed or
           was cancelled, without the cancel button) */
        if (TERMINAL[p.status]) { clearInterval(clock); window.location.reload(); return; }
        setTimeout(tick, 1000);
      }).catch(function (e) {
        if (e instanceof SignedOut) { clearInterval(clock); showSignedOut(); return; }
        setTimeout(tick, 3000);
      });
    }
    if (!TERMINAL[box.getAttribute("data-status")]) { setTimeout(tick, 800); }
  }

  /* -- the map --------------------------------------------------------------------------- */
  function tip(props) {
    var d = el("div", {"class": "tip"});
    var title = el("b", null, props.id || (props.source + " → " + props.destination));
    d.appendChild(title);
    var lines = [];
    if (props.kind && props.id) { lines.push(props.kind + (props.country ? ", " + props.country : "")); }
    if (props.stock_units !== undefined) { lines.push("stock " + num(props.stock_units) + " units"); }
    if (props.units !== undefined && props.source) {
      lines.push(props.kind + " by " + props.mode + ": " + num(props.units) + " units, " + props.skus + " SKU(s)");
      if (props.hours !== null && props.hours !== undefined) { lines.push(num(props.hours, 1) + " h" + (props.on_time === false ? " (late)" : "")); }
    }
    lines.forEach(function (t) { d.appendChild(el("br")); d.appendChild(document.createTextNode(t)); });
    return d;
  }
  function drawMap(box) {
    if (!window.L) { return; }
    var map = L.map(box, {zoomSnap: 0.25, worldCopyJump: true, attributionControl: true});
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution("Leaflet · Natural Earth outlines");
    Promise.all([getJSON(box.getAttribute("data-outlines")), getJSON(box.getAttribute("data-geojson"))])
      .then(function (res) {
        L.geoJSON(res[0], {interactive: false, style: {color: "#9aa3ad", weight: 0.7, fillColor: "#eef0f2", fillOpacity: 1}}).addTo(map);
        var gj = res[1];
        var lines = gj.features.filter(function (f) { return f.geometry.type === "LineString"; });
        var points = gj.features.filter(function (f) { return f.geometry.type === "Point"; });
        var umax = Math.max.apply(null, [1].concat(lines.map(function (f) { return f.properties.units || 0; })));
        var smax = Math.max.apply(null, [1].concat(points.map(function (f) { return f.properties.stock_units || 0; })));
        var layer = L.geoJSON({type: "FeatureCollection", features: lines}, {
          style: function (f) {
            return {color: MODE[f.properties.mode] || "#333", opacity: 0.7,
              weight: 1 + 5 * Math.sqrt((f.properties.units || 0) / umax),
              dashArray: f.properties.kind === "transfer" ? "10 4 2 4" : (f.properties.on_time === false ? "4 4" : null)};
          },
          onEachFeature: function (f, l) { l.bindTooltip(tip(f.properties), {sticky: true}); }
        }).addTo(map);
        var nodes = L.geoJSON({type: "FeatureCollection", features: points}, {
          pointToLayer: function (f, ll) {
            var p = f.properties;
            if (p.kind === "warehouse") {
              return L.circleMarker(ll, {radius: 4 + 14 * Math.sqrt((p.stock_units || 0) / smax),
                color: "#000", weight: 1, fillColor: p.open ? "#ff7f0e" : "#ffffff", fillOpacity: 0.9});
            }
            if (p.kind === "origin") { return L.circleMarker(ll, {radius: 7, color: "#7a1010", weight: 1, fillColor: "#d62728", fillOpacity: 1}); }
            if (p.kind === "zone") { return L.circleMarker(ll, {radius: 3, color: "#444", weight: 1, fillColor: "#444", fillOpacity: 0.9}); }
            return L.circleMarker(ll, {radius: 4, color: "#0e7c86", weight: 1, fillColor: "#17becf", fillOpacity: 0.9});
          },
          onEachFeature: function (f, l) { l.bindTooltip(tip(f.properties)); }
        }).addTo(map);
        var b = nodes.getBounds();
        if (layer.getLayers().length) { b = b.extend(layer.getBounds()); }
        if (b.isValid()) { map.fitBounds(b.pad(0.05)); } else { map.setView([10, 100], 3); }
        box.setAttribute("data-features", String(lines.length + points.length));
        box.setAttribute("data-lines", String(lines.length));
        box.setAttribute("data-points", String(points.length));
      }).catch(function (e) { box.textContent = "The map could not be drawn: " + e.message; });
  }

  /* -- sortable, filterable tables ------------------------------------------------------- */
  function rowsTable(section) {
    var id = section.id, page = 0, size = 50, sortCol = -1, sortDir = 1, data = [], view = [];
    var status = el("p", {"class": "hint", id: id + "-count", "aria-live": "polite"}, "loading…");
    section.appendChild(status);
    getJSON(section.getAttribute("data-src")).then(function (res) {
      data = res.rows;
      var tools = el("div", {"class": "tools"});
      var wrap = el("div");
      wrap.appendChild(el("label", {"for": id + "-filter"}, "Filter rows"));
      var filter = el("input", {id: id + "-filter", type: "search", placeholder: "text in any column"});
      wrap.appendChild(filter);
      tools.appendChild(wrap);
      section.insertBefore(tools, status);
      var table = el("table", {"class": "data", id: id + "-table"});
      var thead = el("thead"), tr = el("tr");
      res.columns.forEach(function (c, i) {
        var numeric = data.length && typeof data[0][i] === "number";
        var th = el("th", {scope: "col", "class": numeric ? "n" : "", "aria-sort": "none"});
        var b = el("button", {type: "button", "data-col": String(i)}, c);
        b.addEventListener("click", function () {
          sortDir = sortCol === i ? -sortDir : (numeric ? -1 : 1);
          sortCol = i;
          Array.prototype.forEach.call(thead.querySelectorAll("th"), function (h) { h.setAttribute("aria-sort", "none"); });
          th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
          apply();
        });
        th.appendChild(b);
        tr.appendChild(th);
      });
      thead.appendChild(tr);
      table.appendChild(thead);
      var tbody = el("tbody");
      table.appendChild(tbody);
      section.insertBefore(table, status);
      var pager = el("div", {"class": "pager"});
      var prev = el("button", {type: "button", "aria-label": "previous page of " + id}, "‹ previous");
      var next = el("button", {type: "button", "aria-label": "next page of " + id}, "next ›");
      pager.appendChild(prev); pager.appendChild(next);
      section.appendChild(pager);
      prev.addEventListener("click", function () { if (page > 0) { page--; render(); } });
      next.addEventListener("click", function () { if ((page + 1) * size < view.length) { page++; render(); } });
      var timer = null;
      filter.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 150); });
      function apply() {
        var q = filter.value.trim().toLowerCase();
        view = q ? data.filter(function (r) { return r.some(function (v) { return v !== null && String(v).toLowerCase().indexOf(q) >= 0; }); }) : data.slice();
        if (sortCol >= 0) {
          view.sort(function (a, b) {
            var x = a[sortCol], y = b[sortCol];
            if (x === y) { return 0; }
            if (x === null) { return 1; } if (y === null) { return -1; }
            return (x < y ? -1 : 1) * sortDir;
          });
        }
        page = 0;
        render();
      }
      function render() {
        tbody.textContent = "";
        view.slice(page * size, (page + 1) * size).forEach(function (r) {
          var row = el("tr");
          r.forEach(function (v) {
            row.appendChild(el("td", {"class": typeof v === "number" ? "n" : ""},
              typeof v === "number" ? num(v, Math.abs(v) < 100 && v % 1 ? 1 : 0) : (v === true ? "yes" : v === false ? "no" : v)));
          });
          tbody.appendChild(row);
        });
        var from = view.length ? page * size + 1 : 0, to = Math.min(view.length, (page + 1) * size);
        status.textContent = "rows " + from + "–" + to + " of " + view.length + (view.length !== data.length ? " (filtered from " + data.length + ")" : "");
        section.setAttribute("data-rows", String(data.length));
        section.setAttribute("data-shown", String(view.length));
      }
      apply();
    }).catch(function (e) { status.textContent = "could not load the rows: " + e.message; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var t = document.getElementById("plans");
    if (t) { livePlans(t); }
    var live = document.getElementById("live");
    if (live) { livePlan(live); }
    var m = document.getElementById("map");
    if (m) { drawMap(m); }
    Array.prototype.forEach.call(document.querySelectorAll("section.rows"), rowsTable);
  });
})();
